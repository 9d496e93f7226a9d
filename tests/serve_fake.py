"""Serve askdocs (UI + API, the real app) with a fake LLM: `serving()` in the test's own process (a thread), or
`python -m tests.serve_fake` as a process of its own, for tests that measure the server from outside
(tests/test_load.py): its memory is then the server's alone.

usage: python -m tests.serve_fake CONFIG_JSON
CONFIG_JSON: {"data_dir", "port", "answer", "sleep" (seconds per streamed character, or null),
              "ingest": [paths ingested before serving], "settings": {more Settings fields}}
Prints "READY <pid>" once the server accepts connections."""

from __future__ import annotations

import json
import sys
import threading
import time
from contextlib import contextmanager


@contextmanager
def serving(service, log_level: str = "warning"):
    """The real app of `service` on a free loopback port, in a thread of this process; yields its URL and
    closes the service afterwards."""
    import uvicorn

    from app.server import build_app
    from tests.conftest import _free_port

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(service), host="127.0.0.1", port=port, log_level=log_level))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        service.close()


def main() -> None:
    config = json.loads(sys.argv[1])
    import uvicorn
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from app.server import build_app
    from app.service import AskDocs
    from app.settings import Settings
    from ingest.embedding import Embedder

    settings = Settings(data_dir=config["data_dir"], chroma_url=None, llm_backend="none", _env_file=None,
                        **config.get("settings", {}))
    llm = FakeListChatModel(responses=[config["answer"]], sleep=config.get("sleep"))
    service = AskDocs(settings, llm=llm, embedder=Embedder("all-MiniLM-L6-v2", dtype="float32"))
    if config.get("ingest"):
        reports = service.ingest(config["ingest"])
        assert all(r.status == "added" for r in reports), [r.to_dict() for r in reports]
    # access_log at info: the test reads every status code the server sent.
    server = uvicorn.Server(uvicorn.Config(build_app(service), host="127.0.0.1", port=config["port"],
                                           log_level="info", access_log=True))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            sys.exit("the server did not start")
        time.sleep(0.05)
    print(f"READY {__import__('os').getpid()}", flush=True)
    thread.join()
    service.close()


if __name__ == "__main__":
    main()
