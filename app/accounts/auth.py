"""Checking who is asking: passwords (throttled per user and per address) and bearer tokens."""

from __future__ import annotations

import base64
import binascii
import contextvars
import hashlib
import logging
import threading
import time
from dataclasses import dataclass

from app.accounts.store import AccountError, AccountStore, User

logger = logging.getLogger(__name__)

# The address of the request being served, for throttling logins whose callback is not given the request
# (Gradio's login form); set by `RememberAddress`.
client_address: contextvars.ContextVar[str] = contextvars.ContextVar("client_address", default="unknown")


@dataclass(frozen=True)
class Throttle:
    """After `failures` failed logins within `window_s` for one user name or one address, logins for it are
    refused (without checking the password) until the window has passed."""

    failures: int = 5
    window_s: float = 900.0


class LoginThrottled(Exception):
    def __init__(self, retry_after_s: int):
        super().__init__(f"too many failed logins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class Authenticator:
    """`remember_s`: a name and password that just passed are trusted again for this long without hashing
    (an API client sending Basic on every request would otherwise pay Argon2's ~60 ms and 64 MB each time);
    a changed password or removed user takes effect after it at the latest."""

    def __init__(self, accounts: AccountStore, throttle: Throttle = Throttle(), remember_s: float = 60.0):
        self.accounts = accounts
        self.throttle = throttle
        self.remember_s = remember_s
        self._recent: dict[str, float] = {}  # sha256 of "name:password" -> until when it is trusted
        self._recent_lock = threading.Lock()

    @property
    def required(self) -> bool:
        """Credentials are needed once any account exists."""
        return self.accounts.has_users()

    def login(self, name: str, password: str, address: str | None = None) -> User | None:
        """The user, or None for a wrong name or password; LoginThrottled after too many failures."""
        address = address or client_address.get()
        remembered = hashlib.sha256(f"{name}:{password}".encode()).hexdigest()
        with self._recent_lock:
            if self._recent.get(remembered, 0.0) > time.monotonic():
                return self.accounts.user(name)
        keys = [f"user:{name}", f"addr:{address}"]
        since = time.time() - self.throttle.window_s
        if any(self.accounts.failures_since(k, since) >= self.throttle.failures for k in keys):
            logger.warning("login of %r from %s refused: too many failures", name, address)
            raise LoginThrottled(int(self.throttle.window_s))
        if self.accounts.verify_password(name, password):
            self.accounts.clear_failures(keys[:1])
            with self._recent_lock:
                now = time.monotonic()
                self._recent = {k: t for k, t in self._recent.items() if t > now}
                self._recent[remembered] = now + self.remember_s
            return self.accounts.user(name)
        self.accounts.record_failure(keys)
        logger.warning("failed login of %r from %s", name, address)
        return None

    def from_header(self, authorization: str | None, address: str) -> User | None:
        """The user an `Authorization` header names (Bearer token or Basic password), else None."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and value:
            return self.accounts.user_for_token(value.strip())
        if scheme.lower() == "basic" and value:
            try:
                name, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return self.login(name, password, address)
        return None

    def gradio_login(self, name: str, password: str) -> bool:
        """The UI's login form: Gradio calls this with name and password only."""
        try:
            return self.login(name, password) is not None
        except LoginThrottled:
            return False


def ensure_first_admin(accounts: AccountStore, name: str | None, password: str | None) -> None:
    """ASKDOCS_USERNAME / ASKDOCS_PASSWORD name the first admin: created when missing, password kept in step."""
    if not name or not password:
        return
    try:
        if accounts.user(name) is None:
            accounts.add_user(name, password, admin=True, check_password=False)
        elif not accounts.verify_password(name, password):
            accounts.set_password(name, password, check_password=False)
            accounts.set_admin(name, True)
    except AccountError as exc:
        raise ValueError(f"ASKDOCS_USERNAME/ASKDOCS_PASSWORD: {exc}") from None


class RememberAddress:
    """ASGI middleware: puts the client's address where `Authenticator.login` finds it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            client = scope.get("client")
            token = client_address.set(client[0] if client else "unknown")
            try:
                await self.app(scope, receive, send)
            finally:
                client_address.reset(token)
        else:
            await self.app(scope, receive, send)
