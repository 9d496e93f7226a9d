"""Many users at once: 50 askers and 5 uploaders drive a real askdocs server (its own process, loopback only)
through the Gradio queue with gradio_client, the way the browser UI does. The LLM is a fake: the server is what
is measured. Run with -s to see the latencies and memory figures."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import _free_port
from tests.files import write_pdf
from tests.serve_fake import serving

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LOGIN = ("loadtest", "load-test-password")
QUESTION = "What does error E-104 mean?"
ANSWER = "Error E-104 means the two encoders of a joint disagree [1]."
ASKERS, UPLOADERS = 50, 5
RSS_GROWTH_LIMIT_MB = 150  # after the run minus after the warm-up


def _pump_pages(n: int) -> list[str]:
    return [f"Pump P-{n} manual. The pump P-{n} delivers {10 + n} litres a minute at full speed.",
            f"Seals of pump P-{n} are replaced every {n + 1} years; the impeller is bronze."]


@pytest.fixture
def fake_server(tmp_path):
    """(url, server pid, log path) of `python -m tests.serve_fake` with two small PDFs ingested."""
    pdfs = [write_pdf(tmp_path / "arm-manual.pdf"), write_pdf(tmp_path / "pump-manual.pdf", _pump_pages(0))]
    port = _free_port()
    config = {"data_dir": str(tmp_path / "data"), "port": port, "answer": ANSWER, "ingest": [str(p) for p in pdfs],
              "settings": {"username": LOGIN[0], "password": LOGIN[1], "top_k": 3}}
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tests.serve_fake", json.dumps(config)], cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while "READY" not in log_path.read_text():
            assert proc.poll() is None, f"server exited:\n{log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "server did not start within 120 s"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", proc.pid, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _client(url: str):
    from gradio_client import Client

    return Client(url, auth=LOGIN, verbose=False, download_files=False)


def _ask(client, question: str = QUESTION) -> tuple[float, tuple]:
    started = time.perf_counter()
    result = client.submit(question, [], 3, "hybrid", False, [], api_name="/ask").result(timeout=180)
    return time.perf_counter() - started, result


def _upload(client, path: Path) -> tuple[float, tuple]:
    from gradio_client import handle_file

    started = time.perf_counter()
    result = client.submit([handle_file(str(path))], None, api_name="/upload").result(timeout=180)
    return time.perf_counter() - started, result


def _check_answer(result: tuple, expect: str = "encoders of a joint disagree") -> None:
    messages, _status, sources_html = result[0], result[1], result[2]
    answer = messages[-1]
    text = " ".join(part["text"] for part in answer["content"]) if isinstance(answer["content"], list) \
        else answer["content"]
    assert answer["role"] == "assistant" and expect in text, text
    assert "[[1]](#source-1)" in text, f"no citation in {text!r}"
    assert 'id="source-1"' in sources_html and "arm-manual.pdf" in sources_html


def _percentiles(values: list[float]) -> tuple[float, float]:
    if len(values) == 1:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return statistics.median(values), cuts[18]


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def test_fifty_askers_and_five_uploaders(fake_server, tmp_path):
    url, pid, log_path = fake_server
    uploads = [write_pdf(tmp_path / f"pump-{n}.pdf", _pump_pages(n)) for n in range(1, UPLOADERS + 1)]
    warm_pdf = write_pdf(tmp_path / "warm-up.pdf", _pump_pages(99))

    # Warm-up: a small concurrent burst of each kind, so lazy imports, caches and thread pools exist.
    warm = [_client(url) for _ in range(8)]
    with ThreadPoolExecutor(9) as pool:
        warm_asks = [pool.submit(_ask, c) for c in warm]
        warm_upload = pool.submit(_upload, warm[0], warm_pdf)
        for f in warm_asks:
            _check_answer(f.result(timeout=240)[1])
        assert "added: 2 pages" in warm_upload.result(timeout=240)[1][0]
    for c in warm:
        c.close()
    time.sleep(1)
    rss_warm = _rss_mb(pid)

    # The run: every user logs in (a client of their own), then all start together.
    start = threading.Barrier(ASKERS + UPLOADERS, timeout=240)

    def asker(_: int):
        client = _client(url)
        try:
            start.wait()
            return _ask(client)
        finally:
            client.close()

    def uploader(n: int):
        client = _client(url)
        try:
            start.wait()
            return _upload(client, uploads[n])
        finally:
            client.close()

    wall = time.perf_counter()
    with ThreadPoolExecutor(ASKERS + UPLOADERS) as pool:
        ask_futures = [pool.submit(asker, i) for i in range(ASKERS)]
        upload_futures = [pool.submit(uploader, n) for n in range(UPLOADERS)]
        errors, ask_times, upload_times = [], [], []
        for f in ask_futures:
            try:
                seconds, result = f.result(timeout=300)
                _check_answer(result)
                ask_times.append(seconds)
            except Exception as exc:  # collected: the assertion below lists them all
                errors.append(f"ask: {type(exc).__name__}: {exc}")
        for n, f in enumerate(upload_futures):
            try:
                seconds, result = f.result(timeout=300)
                assert f"<td>~{LOGIN[0]}/{uploads[n].name}</td>" in result[0] and "added: 2 pages" in result[0], result[0]
                upload_times.append(seconds)
            except Exception as exc:
                errors.append(f"upload: {type(exc).__name__}: {exc}")
    wall = time.perf_counter() - wall
    time.sleep(1)
    rss_after = _rss_mb(pid)

    ask_p50, ask_p95 = _percentiles(ask_times) if ask_times else (0, 0)
    up_p50, up_p95 = _percentiles(upload_times) if upload_times else (0, 0)
    print(f"\nload: {ASKERS} askers + {UPLOADERS} uploaders in {wall:.1f} s (cpus={os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f})")
    print(f"ask latency    p50 {ask_p50:.2f} s  p95 {ask_p95:.2f} s  max {max(ask_times, default=0):.2f} s")
    print(f"upload latency p50 {up_p50:.2f} s  p95 {up_p95:.2f} s  max {max(upload_times, default=0):.2f} s")
    print(f"server RSS after warm-up {rss_warm:.0f} MB, after the run {rss_after:.0f} MB "
          f"(+{rss_after - rss_warm:.0f} MB)")

    assert not errors, "\n".join(errors[:10])
    assert len(ask_times) == ASKERS and len(upload_times) == UPLOADERS

    # Every upload ended ingested and is in the library.
    library = httpx.get(f"{url}/api/documents", auth=LOGIN, timeout=30).json()
    by_id = {d["doc_id"]: d for d in library}
    for path in uploads:
        doc_id = f"~{LOGIN[0]}/{path.name}"  # the UI uploads into the user's private collection
        assert by_id[doc_id]["chunks"] > 0 and by_id[doc_id]["pages"] == 2

    # No server errors: no 5xx in the access log, no traceback or error logged.
    log = log_path.read_text()
    statuses = [int(s) for s in re.findall(r'HTTP/1\.1" (\d{3})', log)]
    assert len(statuses) > ASKERS * 3, "the access log records the requests"
    assert not [s for s in statuses if s >= 500], f"5xx responses: {sorted(set(s for s in statuses if s >= 500))}"
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]

    assert rss_after - rss_warm < RSS_GROWTH_LIMIT_MB, f"server memory grew {rss_after - rss_warm:.0f} MB"


# -- a full queue ---------------------------------------------------------------------------------------------

QUEUE_SIZE, CHAT_CONCURRENCY, FLOOD = 2, 4, 12  # the chat event runs 4 at a time (app/ui.py)


@pytest.fixture
def slow_server(tmp_path, embedder):
    """A server in this process with a tiny queue and an LLM that takes ~4 s per answer."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from app.service import AskDocs
    from app.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", chroma_url=None, llm_backend="none", top_k=3, _env_file=None,
                        username=LOGIN[0], password=LOGIN[1], queue_size=QUEUE_SIZE)
    llm = FakeListChatModel(responses=["Slow: E-104 is an encoder mismatch [1]."], sleep=0.1)  # 40 chars
    service = AskDocs(settings, llm=llm, embedder=embedder)
    service.ingest([write_pdf(tmp_path / "arm-manual.pdf")])
    with serving(service) as url:
        yield url


def test_full_queue_answers_busy_and_recovers(slow_server):
    from gradio_client.exceptions import AppError
    from gradio_client.utils import QueueError

    url = slow_server
    with ThreadPoolExecutor(FLOOD) as pool:
        clients = list(pool.map(lambda _: _client(url), range(FLOOD)))
    start = threading.Barrier(FLOOD, timeout=60)

    def flood(client):
        start.wait()
        started = time.perf_counter()
        try:
            return "answered", _ask(client)[1], time.perf_counter() - started
        except QueueError as exc:
            return "busy", str(exc), time.perf_counter() - started

    with ThreadPoolExecutor(FLOOD) as pool:
        futures = [pool.submit(flood, c) for c in clients]
        # While the accepted ones are still being answered, a browser-like join is refused the same way.
        deadline = time.monotonic() + 30
        while not any(f.done() for f in futures) and time.monotonic() < deadline:
            time.sleep(0.05)
        with httpx.Client(base_url=url, timeout=30) as http:
            assert http.post("/login", data={"username": LOGIN[0], "password": LOGIN[1]}).status_code == 200
            fn_index = next(d["id"] for d in http.get("/config").json()["dependencies"] if d["api_name"] == "ask")
            # Joins until one is refused: each accepted one takes a slot (a run of ~4 s), so the queue is full
            # after at most CHAT_CONCURRENCY + QUEUE_SIZE of them, however many of the flood it took.
            for _ in range(CHAT_CONCURRENCY + QUEUE_SIZE + 1):
                refused = http.post("/gradio_api/queue/join", json={
                    "data": [QUESTION, [], None, 3, "hybrid", False], "fn_index": fn_index, "session_hash": "probe",
                    "event_data": None, "trigger_id": None})
                if refused.status_code != 200:
                    break
        outcomes = [f.result(timeout=120) for f in futures]
    for c in clients:
        c.close()

    answered = [o for o in outcomes if o[0] == "answered"]
    busy = [o for o in outcomes if o[0] == "busy"]
    print(f"\nqueue of {QUEUE_SIZE}, {CHAT_CONCURRENCY} running: {len(answered)} of {FLOOD} answered "
          f"(slowest {max(o[2] for o in answered):.1f} s), {len(busy)} told busy "
          f"(slowest refusal {max((o[2] for o in busy), default=0):.2f} s); "
          f"join while full: HTTP {refused.status_code} {refused.json()}")
    assert QUEUE_SIZE <= len(answered) <= QUEUE_SIZE + CHAT_CONCURRENCY
    assert len(busy) == FLOOD - len(answered) >= FLOOD - QUEUE_SIZE - CHAT_CONCURRENCY
    assert all("Queue is full" in o[1] for o in busy)
    assert all(o[2] < 10 for o in busy), "a refusal comes at once, not after a wait"
    for _, result, _ in answered:
        assert "[[1]](#source-1)" in result[0][-1]["content"][0]["text"]
    # What a browser gets: 503 Service Unavailable with the reason (the Gradio page shows it as "This application
    # is currently busy. Please try again."), never a 500.
    assert refused.status_code == 503 and "Queue is full" in refused.json()["detail"]

    # Once the flood has drained, the server answers again: UI and API.
    client = _client(url)
    try:
        _check_answer(_ask(client)[1], expect="encoder mismatch")
    except AppError as exc:
        pytest.fail(f"the server did not recover: {exc}")
    finally:
        client.close()
    r = httpx.post(f"{url}/api/ask", json={"question": QUESTION}, auth=LOGIN, timeout=60)
    assert r.status_code == 200 and r.json()["sources"]
