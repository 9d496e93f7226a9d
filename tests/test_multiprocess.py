"""Two `askdocs serve` processes on one `chroma run` server: what one adds, replaces or removes, the other finds
(BM25 included) within seconds, without a restart."""

import os
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from tests.files import write_pdf

# Filler pages: BM25 gives a term found on half of the pages no weight, so the error codes need company.
FILLER = [f"Section {n}. Routine maintenance notes for the cleaning crew, shift {n}." for n in range(6)]
PAGES_V1 = ["Alpha page. The SK-220 arm carries twelve kilograms.", "Error E-104 means the encoders disagree.", *FILLER]
PAGES_V2 = ["Alpha page. The SK-220 arm carries fifteen kilograms.", "Error E-207 means the brake is worn.", *FILLER]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_servers(chroma_server, tmp_path):
    collection = f"mp-{uuid.uuid4().hex[:8]}"
    procs, urls = [], []
    for name in ("a", "b"):
        port = _free_port()
        env = dict(os.environ, ASKDOCS_CHROMA_URL=chroma_server, ASKDOCS_COLLECTION=collection,
                   ASKDOCS_DATA_DIR=str(tmp_path / "data"), ASKDOCS_PORT=str(port), ASKDOCS_LLM_BACKEND="none",
                   ASKDOCS_LOG_LEVEL="WARNING")
        log = open(tmp_path / f"server-{name}.log", "w")
        procs.append(subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], cwd=tmp_path, env=env,
                                      stdout=log, stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for proc, url in zip(procs, urls):
            deadline = time.monotonic() + 180
            while True:
                try:
                    if httpx.get(f"{url}/api/documents", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None, "\n".join(p.read_text() for p in sorted(tmp_path.glob("server-*.log")))
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.5)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(20)


def _found(url: str, query: str, mode: str) -> list[str]:
    r = httpx.post(f"{url}/api/search", json={"query": query, "k": 3, "mode": mode}, timeout=30)
    r.raise_for_status()
    return [hit["text"] for hit in r.json()["results"]]


def _within(seconds: float, check) -> float:
    """Seconds until `check()` holds; fails after `seconds`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, "the other process did not see the change in time"
        time.sleep(0.2)
    return time.monotonic() - started


def test_a_change_through_one_process_is_seen_by_the_other(two_servers, tmp_path):
    a, b = two_servers
    pdf = write_pdf(tmp_path / "manual.pdf", PAGES_V1)
    with pdf.open("rb") as fh:
        assert httpx.post(f"{a}/api/documents", files=[("files", ("manual.pdf", fh))], timeout=120).status_code == 200
    seen = _within(5, lambda: any("E-104" in t for t in _found(b, "E-104 encoders", "bm25")))
    assert any("E-104" in t for t in _found(b, "what does error E-104 mean", "vector"))
    assert [d["doc_id"] for d in httpx.get(f"{b}/api/documents").json()] == ["manual.pdf"]

    write_pdf(tmp_path / "manual.pdf", PAGES_V2)  # replaced through A: B finds the new text, not the old
    with pdf.open("rb") as fh:
        httpx.post(f"{a}/api/documents", files=[("files", ("manual.pdf", fh))], timeout=120).raise_for_status()
    _within(5, lambda: any("E-207" in t for t in _found(b, "E-207 brake", "bm25")))
    assert not any("E-104" in t for t in _found(b, "E-104 encoders", "bm25"))

    assert httpx.delete(f"{b}/api/documents/manual.pdf", timeout=60).status_code == 200  # removed through B
    gone = _within(5, lambda: _found(a, "E-207 brake", "bm25") == [])
    assert httpx.get(f"{a}/api/documents").json() == []
    print(f"\nseen by the other process after {seen:.1f} s (add), {gone:.1f} s (remove)")
