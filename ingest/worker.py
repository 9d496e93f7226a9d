"""Parse files in a child process, so a file that hangs, crashes or eats memory fails alone."""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from collections.abc import Callable
from pathlib import Path

from ingest.errors import LoadError
from ingest.ocr import OcrOptions
from ingest.types import LoadedDocument

logger = logging.getLogger(__name__)


def _serve(conn, memory_mb: int | None, max_pages: int, ocr: OcrOptions) -> None:
    """Child loop: receive a path, send ("page", done, total) while OCR reads pages, then answer ("ok", doc) or
    ("error", reason)."""
    import resource

    from ingest.loaders import load_file

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repair notes are not the user's business
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is None:
            return
        try:
            doc = load_file(path, max_pages=max_pages, ocr=ocr,
                            on_page=lambda done, total: conn.send(("page", done, total)))
            conn.send(("ok", doc))
        except LoadError as exc:
            conn.send(("error", exc.reason))
        except MemoryError:
            conn.send(("error", f"ran out of memory while parsing (limit {memory_mb} MB)"))
        except RecursionError:
            conn.send(("error", "structure nested too deeply to parse"))
        except Exception as exc:  # a loader bug must not end the batch
            conn.send(("error", f"unexpected {type(exc).__name__}: {str(exc)[:120]}"))


class ParserWorker:
    """One parsing child process, restarted after a timeout or a crash.

    `submit(path)` starts parsing; `result()` waits for it. The time limit runs from `submit`, so the caller
    may embed the previous file while the child parses the next one; each page read by OCR restarts it, so a
    long scan that makes progress is not abandoned (OCR bounds each page by its own time limit).
    """

    def __init__(self, timeout_s: float = 120.0, memory_mb: int | None = 4096, max_pages: int = 5000,
                 ocr: OcrOptions = OcrOptions()):
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_pages = max_pages
        self.ocr = ocr
        self._ctx = mp.get_context("spawn")  # fork would copy torch's threads and locks
        self._process = None
        self._conn = None
        self._pending: tuple[str, float] | None = None

    def __enter__(self) -> ParserWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        self._process = self._ctx.Process(
            target=_serve, args=(child, self.memory_mb, self.max_pages, self.ocr), daemon=True, name="askdocs-parser"
        )
        self._process.start()
        child.close()
        self._conn = parent

    def submit(self, path: str | Path) -> None:
        if self._pending is not None:
            raise RuntimeError("result() of the previous file must be read before the next submit()")
        if self._process is None or not self._process.is_alive():
            self._start()
        self._conn.send(str(path))
        self._pending = (str(path), time.monotonic() + self.timeout_s)

    def result(self, on_page: Callable[[int, int], None] | None = None) -> LoadedDocument:
        """The parsed document; `on_page(done, total)` hears of each page read by OCR."""
        if self._pending is None:
            raise RuntimeError("nothing was submitted")
        path, deadline = self._pending
        self._pending = None
        try:
            while True:
                ready = self._conn.poll(max(0.0, deadline - time.monotonic()))
                if not ready:
                    self._kill()
                    raise LoadError(path, f"parsing took longer than {self.timeout_s:g} s and was abandoned")
                status, *payload = self._conn.recv()
                if status != "page":
                    break
                deadline = max(deadline, time.monotonic() + self.timeout_s)
                if on_page:
                    on_page(*payload)
        except (EOFError, ConnectionError, OSError):
            code = self._process.exitcode if self._process else None
            self._kill()
            raise LoadError(path, f"the parser crashed on this file (exit code {code})") from None
        if status == "error":
            raise LoadError(path, payload[0])
        return payload[0]

    def load(self, path: str | Path) -> LoadedDocument:
        self.submit(path)
        return self.result()

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    def close(self) -> None:
        if self._process is not None and self._process.is_alive() and self._pending is None:
            try:
                self._conn.send(None)
                self._process.join(2)
            except (OSError, BrokenPipeError):
                pass
        self._kill()
        self._pending = None
