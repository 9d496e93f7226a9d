"""`askdocs serve`: the Gradio UI and a JSON API on one FastAPI server, behind one optional login."""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request, UploadFile
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from app.service import AskDocs

logger = logging.getLogger(__name__)


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    history: list[tuple[str, str]] = Field(default_factory=list, max_length=20)
    top_k: int | None = Field(None, gt=0, le=50)
    mode: str | None = Field(None, pattern="^(bm25|vector|hybrid|rerank)$")
    docs: list[str] | None = None


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


def credentials_check(username: str | None, password: str | None):
    """A FastAPI dependency that demands HTTP Basic credentials when a login is configured."""
    basic = HTTPBasic(auto_error=False)

    def check(request: Request, given: HTTPBasicCredentials | None = Depends(basic)) -> None:
        if not username:
            return
        ok = given is not None and secrets.compare_digest(given.username.encode(), username.encode()) and \
            secrets.compare_digest(given.password.encode(), (password or "").encode())
        if not ok:
            raise HTTPException(401, "login required", headers={"WWW-Authenticate": "Basic"})

    return check


def build_api(service: AskDocs, username: str | None = None, password: str | None = None) -> FastAPI:
    app = FastAPI(title="askdocs", docs_url=None, redoc_url=None, openapi_url=None)
    auth = [Depends(credentials_check(username, password))]

    @app.post("/api/ask", dependencies=auth)
    def ask(req: AskRequest) -> dict:
        return service.ask(req.question, req.history, top_k=req.top_k, mode=req.mode, doc_ids=req.docs).to_dict()

    @app.post("/api/search", dependencies=auth)
    def search(req: SearchRequest) -> dict:
        found = service.search(req.query, req.k, req.mode, req.docs)
        return {"query": found.query, "mode": found.mode, "notes": found.notes, "timings_ms": found.timings_ms,
                "results": [r.to_dict() for r in found.results]}

    @app.get("/api/documents", dependencies=auth)
    def documents() -> list[dict]:
        return [r.to_dict() for r in service.documents()]

    @app.put("/api/documents/{doc_id:path}/profile", dependencies=auth)
    def set_profile(doc_id: str, profile: ProfileRequest) -> dict:
        try:
            return service.set_profile(doc_id, profile.model_dump(exclude_none=True))
        except KeyError:
            raise HTTPException(404, f"no document {doc_id}") from None

    @app.delete("/api/documents/{doc_id:path}", dependencies=auth)
    def delete(doc_id: str) -> dict:
        report = service.delete(doc_id)
        if report.status != "removed":
            raise HTTPException(404, report.reason)
        return report.to_dict()

    @app.post("/api/documents", dependencies=auth)
    def upload(files: list[UploadFile]) -> dict:
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
                    saved.append(service.save_upload(f.filename or "upload", target))
                except ValueError as exc:
                    failed.append({"name": f.filename, "status": "failed", "reason": str(exc)})
        reports = service.ingest(saved) if saved else []
        return {"files": [r.to_dict() for r in reports] + failed}

    return app


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
    username = settings.username
    password = settings.password.get_secret_value() if settings.password else None
    api = build_api(service, username, password)
    # api_open=False: no direct /gradio_api/run/ route; every UI event waits its turn in the bounded queue.
    demo = build_ui(service).queue(default_concurrency_limit=4, max_size=settings.queue_size, api_open=False)
    # Same-origin only unless ASKDOCS_ALLOWED_ORIGINS lists others. With a CORSMiddleware on the parent app,
    # Gradio leaves CORS to it (its own echoes any Origin when the host is not localhost).
    origins = parse_origins(settings.allowed_origins)
    api.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True,
                       allow_methods=["GET", "POST", "DELETE"], allow_headers=["*"])
    api.add_middleware(SameOriginOnly, allowed=origins)
    app = gr.mount_gradio_app(
        # css again here: mount_gradio_app replaces the Blocks' css with its own argument.
        api, demo, path="/", auth=(username, password) if username else None, css=demo.css,
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
