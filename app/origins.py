"""Same-origin only: a browser request sent from another site is refused before it reaches any route.

Browsers add an `Origin` header to cross-site fetches, form posts and websockets. CORS headers alone do not
stop a cross-site *simple* request (a form post of a file, say) from being sent with the user's cookie or
HTTP Basic login; refusing it here does. Clients that are not browsers (curl, gradio_client) send no Origin
and are unaffected; they still need the login."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def parse_origins(text: str | None) -> list[str]:
    """'https://a.example, http://b.example:8080/' -> ['https://a.example', 'http://b.example:8080']."""
    return [o.strip().rstrip("/").lower() for o in (text or "").replace(";", ",").split(",") if o.strip()]


class SameOriginOnly:
    """Refuses (HTTP 403, or a closed websocket) any request whose Origin is neither the server's own host
    (the Host header, or X-Forwarded-Host set by a reverse proxy) nor listed in `allowed`."""

    def __init__(self, app: ASGIApp, allowed: list[str] | None = None):
        self.app = app
        self.allowed = set(parse_origins(",".join(allowed or [])))

    def permits(self, headers: Headers) -> bool:
        origin = headers.get("origin")
        if origin is None:
            return True
        origin = origin.strip().rstrip("/").lower()
        if origin in self.allowed:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False  # "null" (sandboxed frames, file:// pages) and anything odd
        own = {headers.get("host", "").strip().lower()}
        forwarded = headers.get("x-forwarded-host")
        if forwarded:  # a browser cannot set this on a cross-site request without a (refused) preflight
            own.add(forwarded.split(",")[0].strip().lower())
        return parts.netloc in own

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.permits(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await PlainTextResponse("cross-origin request refused", status_code=403)(scope, receive, send)
