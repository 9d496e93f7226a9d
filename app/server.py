"""`askdocs serve`: the Gradio UI and a JSON API on one FastAPI server, behind the accounts' login."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from fastapi import Depends, FastAPI, Form, HTTPException, Request, UploadFile
from pydantic import BaseModel, Field

from app.accounts.access import EVERYTHING, Access, access_for, collection_label, parse_collection
from app.accounts.auth import Authenticator, LoginThrottled, RememberAddress, ensure_first_admin
from app.accounts.store import AccountStore, User
from app.conversations.store import ConversationStore
from app.service import AskDocs

logger = logging.getLogger(__name__)


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    history: list[tuple[str, str]] = Field(default_factory=list, max_length=20)
    top_k: int | None = Field(None, gt=0, le=50)
    mode: str | None = Field(None, pattern="^(bm25|vector|hybrid|rerank)$")
    docs: list[str] | None = None
    collections: list[str] | None = Field(None, description="ask only these collections (default: all you read)")


class ProfileRequest(BaseModel):
    """The fields of a document profile to correct; those left out keep their value."""

    title: str | None = Field(None, max_length=300)
    organisation: str | None = Field(None, max_length=200)
    period: str | None = Field(None, max_length=40)
    doc_type: str | None = Field(None, max_length=80)


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=4000)
    k: int | None = Field(None, gt=0, le=100)
    mode: str | None = Field(None, pattern="^(bm25|vector|hybrid|rerank)$")
    docs: list[str] | None = None


def caller_check(authenticator: Authenticator | None):
    """A FastAPI dependency: the calling user (Bearer token, or Basic with a user's password) whenever accounts
    exist; 401 without valid credentials, 429 after too many failed logins. None when there are no accounts."""

    def check(request: Request) -> User | None:
        if authenticator is None or not authenticator.required:
            return None
        address = request.client.host if request.client else "unknown"
        try:
            user = authenticator.from_header(request.headers.get("authorization"), address)
        except LoginThrottled as exc:
            raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after_s)}) from None
        if user is None:
            raise HTTPException(401, "login required", headers={"WWW-Authenticate": 'Basic realm="askdocs"'})
        return user

    return check


def make_authenticator(settings) -> Authenticator:
    """The accounts of this data folder, with ASKDOCS_USERNAME / ASKDOCS_PASSWORD as the first admin."""
    accounts = AccountStore(settings.data_dir / "accounts.sqlite3")
    ensure_first_admin(accounts, settings.username,
                       settings.password.get_secret_value() if settings.password else None)
    return Authenticator(accounts)


def access_check(authenticator: Authenticator | None):
    """A FastAPI dependency: what the caller may read and write (everything on a server without accounts)."""
    check = caller_check(authenticator)

    def access(request: Request) -> Access:
        user = check(request)
        if authenticator is None or not authenticator.required:
            return EVERYTHING
        return access_for(authenticator.accounts, user)

    return access


def build_api(service: AskDocs, authenticator: Authenticator | None = None) -> FastAPI:
    app = FastAPI(title="askdocs", docs_url=None, redoc_url=None, openapi_url=None)
    caller = Depends(access_check(authenticator))

    @app.post("/api/ask")
    def ask(req: AskRequest, access: Access = caller) -> dict:
        return service.ask(req.question, req.history, top_k=req.top_k, mode=req.mode, doc_ids=req.docs,
                           access=access, collections=_collections(req.collections)).to_dict()

    @app.post("/api/search")
    def search(req: SearchRequest, access: Access = caller) -> dict:
        found = service.search(req.query, req.k, req.mode, req.docs, access=access)
        return {"query": found.query, "mode": found.mode, "notes": found.notes, "timings_ms": found.timings_ms,
                "results": [r.to_dict() for r in found.results]}

    @app.get("/api/documents")
    def documents(access: Access = caller) -> list[dict]:
        return [r.to_dict() for r in service.documents(access)]

    @app.put("/api/documents/{doc_id:path}/profile")
    def set_profile(doc_id: str, profile: ProfileRequest, access: Access = caller) -> dict:
        try:
            return service.set_profile(doc_id, profile.model_dump(exclude_none=True), access)
        except KeyError:
            raise HTTPException(404, f"no document {doc_id}") from None
        except PermissionError as exc:
            raise HTTPException(403, str(exc)) from None

    @app.delete("/api/documents/{doc_id:path}")
    def delete(doc_id: str, access: Access = caller) -> dict:
        try:
            report = service.delete(doc_id, access)
        except PermissionError as exc:
            raise HTTPException(403, str(exc)) from None
        if report.status != "removed":
            raise HTTPException(404, report.reason)
        return report.to_dict()

    @app.post("/api/documents")
    def upload(files: list[UploadFile], collection: str | None = Form(None), access: Access = caller) -> dict:
        target_collection = parse_collection(collection)
        target_collection = access.default if target_collection is None else target_collection
        if not access.can_write(target_collection):
            raise HTTPException(403, f"you may not add documents to the collection "
                                     f"{collection_label(target_collection)}")
        limit = service.settings.max_file_mb * 2**20
        saved, failed = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for f in files:
                target = Path(tmp) / "upload"
                written = _copy_limited(f, target, limit)
                if written is None:
                    failed.append({"name": f.filename, "status": "failed",
                                   "reason": f"over the {service.settings.max_file_mb:g} MB limit"})
                    continue
                try:
                    saved.append(service.save_upload(f.filename or "upload", target, target_collection))
                except ValueError as exc:
                    failed.append({"name": f.filename, "status": "failed", "reason": str(exc)})
        reports = service.ingest(saved, access=access, collection=target_collection) if saved else []
        return {"files": [r.to_dict() for r in reports] + failed}

    return app


def _collections(names: list[str] | None) -> list[str] | None:
    return None if names is None else [parse_collection(n) or "" for n in names]


def _copy_limited(upload: UploadFile, target: Path, limit: float) -> int | None:
    """Stream an upload to disk, stopping as soon as it passes `limit` bytes (never read whole into memory)."""
    written = 0
    with target.open("wb") as out:
        while block := upload.file.read(1 << 20):
            written += len(block)
            if written > limit:
                return None
            out.write(block)
    return written


def build_app(service: AskDocs) -> FastAPI:
    """The API routes and the Gradio UI on one app, with the same login for both."""
    import gradio as gr
    from starlette.middleware.cors import CORSMiddleware

    from app.origins import SameOriginOnly, parse_origins
    from app.ui import build_ui

    settings = service.settings
    authenticator = make_authenticator(settings)
    api = build_api(service, authenticator)
    # api_open=False: no direct /gradio_api/run/ route; every UI event waits its turn in the bounded queue.
    conversations = ConversationStore(settings.data_dir / "conversations.sqlite3")
    demo = build_ui(service, authenticator.accounts, conversations).queue(default_concurrency_limit=4, max_size=settings.queue_size, api_open=False)
    # Same-origin only unless ASKDOCS_ALLOWED_ORIGINS lists others. With a CORSMiddleware on the parent app,
    # Gradio leaves CORS to it (its own echoes any Origin when the host is not localhost).
    origins = parse_origins(settings.allowed_origins)
    api.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True,
                       allow_methods=["GET", "POST", "DELETE"], allow_headers=["*"])
    api.add_middleware(SameOriginOnly, allowed=origins)
    api.add_middleware(RememberAddress)
    # The UI asks for a login when accounts exist at start (adding the first user later needs a restart).
    app = gr.mount_gradio_app(
        # css again here: mount_gradio_app replaces the Blocks' css with its own argument.
        api, demo, path="/", auth=authenticator.gradio_login if authenticator.required else None, css=demo.css,
        max_file_size=f"{settings.max_file_mb:g}mb", enable_monitoring=False,
        # Never serve the store, uploads or models as files, wherever they live.
        blocked_paths=[str(settings.data_dir.resolve()), str(settings.models_path.resolve())], footer_links=[],
    )
    return app


def serve(service: AskDocs) -> None:
    import uvicorn

    settings = service.settings
    app = build_app(service)
    logger.info("serving on http://%s:%d", settings.host, settings.port)
    print(f"askdocs is running on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
