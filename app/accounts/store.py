"""Users and API tokens in SQLite (standard library), shared by every app process on one data folder.

Passwords are hashed with Argon2id (argon2-cffi); a token is stored only as its SHA-256, so the database never
holds a credential that works as it is.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from app.database import Database

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "adk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_COLLECTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, admin INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, digest TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL DEFAULT '', created REAL NOT NULL, last_used REAL);
CREATE TABLE IF NOT EXISTS collections (name TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    collection TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, can_write INTEGER NOT NULL,
    PRIMARY KEY (collection, user));
CREATE TABLE IF NOT EXISTS login_failures (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, at);
"""


class AccountError(ValueError):
    """A request about accounts that cannot be done (unknown user, bad name, short password); one line."""


@dataclass(frozen=True)
class User:
    name: str
    admin: bool
    created: float


@dataclass(frozen=True)
class TokenInfo:
    id: str
    user: str
    label: str
    created: float
    last_used: float | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountStore:
    """The accounts database at `path`; every call opens a short transaction, so processes may share it."""

    def __init__(self, path: str | Path, min_password_length: int = 8):
        from argon2 import PasswordHasher

        self.path = Path(path)
        self.min_password_length = min_password_length
        self._hasher = PasswordHasher()
        self.db = Database(self.path, _SCHEMA)

    def _db(self):
        return self.db.transaction()

    # -- users ---------------------------------------------------------------------------------------------

    def has_users(self) -> bool:
        with self._db() as db:
            return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def users(self) -> list[User]:
        with self._db() as db:
            rows = db.execute("SELECT name, admin, created FROM users ORDER BY name").fetchall()
        return [User(n, bool(a), c) for n, a, c in rows]

    def user(self, name: str) -> User | None:
        with self._db() as db:
            row = db.execute("SELECT name, admin, created FROM users WHERE name = ?", (name,)).fetchone()
        return User(row[0], bool(row[1]), row[2]) if row else None

    def add_user(self, name: str, password: str, admin: bool = False, check_password: bool = True) -> User:
        """`check_password=False`: the length rule is not applied (the ASKDOCS_PASSWORD of earlier versions)."""
        if not _NAME.match(name or ""):
            raise AccountError(f"invalid user name {name!r}: letters, digits and . _ @ - (at most 64)")
        digest = self._hashed(password, check_password)
        with self._db() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise AccountError(f"user {name!r} exists already")
            db.execute("INSERT INTO users VALUES (?, ?, ?, ?)", (name, digest, int(admin), time.time()))
        logger.info("added user %s%s", name, " (admin)" if admin else "")
        return User(name, admin, time.time())

    def remove_user(self, name: str) -> None:
        with self._db() as db:
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise AccountError(f"no user {name!r}")

    def set_password(self, name: str, password: str, check_password: bool = True) -> None:
        digest = self._hashed(password, check_password)
        with self._db() as db:
            if db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (digest, name)).rowcount == 0:
                raise AccountError(f"no user {name!r}")

    def set_admin(self, name: str, admin: bool) -> None:
        with self._db() as db:
            if db.execute("UPDATE users SET admin = ? WHERE name = ?", (int(admin), name)).rowcount == 0:
                raise AccountError(f"no user {name!r}")

    def verify_password(self, name: str, password: str) -> bool:
        """Whether `password` is `name`'s; an unknown user costs as much time as a wrong password."""
        from argon2.exceptions import InvalidHashError, VerificationError

        with self._db() as db:
            row = db.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
        stored = row[0] if row else self._hasher.hash("unknown user: spend the same time")
        try:
            self._hasher.verify(stored, password or "")
        except (VerificationError, InvalidHashError):
            return False
        return row is not None

    def _hashed(self, password: str, check_length: bool) -> str:
        if not password:
            raise AccountError("the password is empty")
        if check_length and len(password) < self.min_password_length:
            raise AccountError(f"the password needs at least {self.min_password_length} characters")
        return self._hasher.hash(password)

    # -- tokens --------------------------------------------------------------------------------------------

    def create_token(self, name: str, label: str = "") -> tuple[TokenInfo, str]:
        """(its record, the token itself): the token is shown once and never stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(secrets.token_hex(4), name, label, time.time(), None)
        with self._db() as db:
            if not db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise AccountError(f"no user {name!r}")
            db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, NULL)",
                       (info.id, name, _digest(token), label, info.created))
        return info, token

    def tokens(self, name: str | None = None) -> list[TokenInfo]:
        query = "SELECT id, user, label, created, last_used FROM tokens"
        with self._db() as db:
            rows = db.execute(query + (" WHERE user = ?" if name else "") + " ORDER BY created",
                              (name,) if name else ()).fetchall()
        return [TokenInfo(*row) for row in rows]

    def revoke_token(self, token_id: str, name: str | None = None) -> None:
        """Revoke by id (only `name`'s tokens when given)."""
        with self._db() as db:
            sql, args = "DELETE FROM tokens WHERE id = ?", [token_id]
            if name:
                sql, args = sql + " AND user = ?", args + [name]
            if db.execute(sql, args).rowcount == 0:
                raise AccountError(f"no token {token_id!r}")

    def user_for_token(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self._db() as db:
            row = db.execute("SELECT u.name, u.admin, u.created FROM tokens t JOIN users u ON u.name = t.user "
                             "WHERE t.digest = ?", (_digest(token),)).fetchone()
            if row:
                db.execute("UPDATE tokens SET last_used = ? WHERE digest = ?", (time.time(), _digest(token)))
        return User(row[0], bool(row[1]), row[2]) if row else None

    # -- shared collections -------------------------------------------------------------------------------

    def add_collection(self, name: str) -> None:
        if not _COLLECTION.match(name or "") or name == "shared":
            raise AccountError(f"invalid collection name {name!r}: letters, digits and . _ - (not 'shared')")
        with self._db() as db:
            if db.execute("SELECT 1 FROM collections WHERE name = ?", (name,)).fetchone():
                raise AccountError(f"collection {name!r} exists already")
            db.execute("INSERT INTO collections VALUES (?, ?)", (name, time.time()))

    def remove_collection(self, name: str) -> None:
        with self._db() as db:
            if db.execute("DELETE FROM collections WHERE name = ?", (name,)).rowcount == 0:
                raise AccountError(f"no collection {name!r}")

    def collections(self) -> dict[str, dict[str, bool]]:
        """{collection: {member: may write}}."""
        with self._db() as db:
            names = [r[0] for r in db.execute("SELECT name FROM collections ORDER BY name")]
            rows = db.execute("SELECT collection, user, can_write FROM members").fetchall()
        out: dict[str, dict[str, bool]] = {n: {} for n in names}
        for collection, user, can_write in rows:
            out[collection][user] = bool(can_write)
        return out

    def grant(self, collection: str, user: str, write: bool = False) -> None:
        with self._db() as db:
            if not db.execute("SELECT 1 FROM collections WHERE name = ?", (collection,)).fetchone():
                raise AccountError(f"no collection {collection!r}")
            if not db.execute("SELECT 1 FROM users WHERE name = ?", (user,)).fetchone():
                raise AccountError(f"no user {user!r}")
            db.execute("INSERT OR REPLACE INTO members VALUES (?, ?, ?)", (collection, user, int(write)))

    def revoke(self, collection: str, user: str) -> None:
        with self._db() as db:
            if db.execute("DELETE FROM members WHERE collection = ? AND user = ?", (collection, user)).rowcount == 0:
                raise AccountError(f"{user!r} is not a member of {collection!r}")

    def memberships(self, user: str) -> dict[str, bool]:
        """{collection: may write} of the shared collections `user` belongs to."""
        with self._db() as db:
            rows = db.execute("SELECT collection, can_write FROM members WHERE user = ?", (user,)).fetchall()
        return {c: bool(w) for c, w in rows}

    # -- failed logins -------------------------------------------------------------------------------------

    def record_failure(self, keys: list[str]) -> None:
        now = time.time()
        with self._db() as db:
            db.executemany("INSERT INTO login_failures VALUES (?, ?)", [(k, now) for k in keys])
            db.execute("DELETE FROM login_failures WHERE at < ?", (now - 86_400,))

    def failures_since(self, key: str, since: float) -> int:
        with self._db() as db:
            return db.execute("SELECT COUNT(*) FROM login_failures WHERE key = ? AND at >= ?",
                              (key, since)).fetchone()[0]

    def clear_failures(self, keys: list[str]) -> None:
        with self._db() as db:
            db.executemany("DELETE FROM login_failures WHERE key = ?", [(k,) for k in keys])
