"""Chat models for answers: an embedded local GGUF model (default, offline), an OpenAI-compatible endpoint, or Ollama.

All three are LangChain chat models, so callers stream with `stream_text` whichever is configured. Backend
failures (server down, unknown model, timeouts, a model that will not load) become `LLMError`: one line naming
the backend, its URL or model, and the reason.

The local engine is xllamacpp (prebuilt llama.cpp wheels, no compiler) driven through its in-process server API
by `LocalChatModel`, not through HTTP: no request goes through HTTP proxies configured in the environment, no
port has to be reached before the first token, and a stream the caller abandons is cancelled by the engine's
callback instead of generating on to max_tokens.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import re
import secrets
import threading
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.utils import convert_to_openai_messages
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from app.model_files import ModelFileError, Progress, resolve_model_file

logger = logging.getLogger(__name__)

BACKENDS = ("local", "openai", "ollama")
OLLAMA_URL = "http://127.0.0.1:11434"
OPENAI_URL = "https://api.openai.com/v1"
_WORDS, _DIGITS, _PUNCT = re.compile(r"[^\W\d_]+"), re.compile(r"\d"), re.compile(r"[^\w\s]")  # approximate_tokens


@dataclass(frozen=True)
class LLMConfig:
    backend: str = "local"  # local | openai | ollama
    model: str = "qwen2.5-coder-1.5b"  # local: a name in app.model_files.MODELS or a .gguf path; else the served name
    base_url: str | None = None  # openai-compatible or Ollama URL
    api_key: str | None = field(default=None, repr=False)  # secret: kept out of repr and of every message
    temperature: float = 0.1
    max_tokens: int = 512
    context_tokens: int = 4096  # local: the window allocated; ollama: sent as num_ctx; openai: declared
    threads: int = 1  # local engine threads (on 2 busy cores 1 was measured faster than 2)
    cache_dir: Path = Path(".askdocs/models")
    timeout_s: float = 120.0


class LLMError(Exception):
    """A backend is down or misconfigured; str() is one user-facing line."""


class LocalChatModel(BaseChatModel):
    """A GGUF model run in-process by xllamacpp; loads on first use (or `load()`), then stays loaded."""

    model_path: str
    context_tokens: int = 4096
    threads: int = 1
    temperature: float = 0.1
    max_tokens: int = 512
    timeout_s: float = 120.0  # longest wait for the next piece, prompt processing included

    _engine: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    # The engine also listens on a random loopback port; a random key keeps other local users off it.
    _http_key: str = PrivateAttr(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def _llm_type(self) -> str:
        return "xllamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "context_tokens": self.context_tokens, "threads": self.threads}

    @property
    def label(self) -> str:
        return f"local model {Path(self.model_path).name}"

    def load(self) -> Any:
        with self._lock:
            if self._engine is None:
                try:
                    import xllamacpp
                except ImportError:
                    raise LLMError(f"{self.label}: the local engine is not installed "
                                   f"(run: pip install xllamacpp)") from None

                params = xllamacpp.CommonParams()
                params.model.path = self.model_path
                params.n_ctx = self.context_tokens
                params.n_parallel = 1  # one slot gets the whole window; concurrent requests queue
                params.cpuparams.n_threads = self.threads
                params.cpuparams_batch.n_threads = self.threads
                params.verbosity = -1  # llama.cpp logs every request to stderr otherwise
                params.warmup = False  # saves a dummy decode at start; the first request warms up anyway
                params.api_keys = [self._http_key]
                params.ui = params.endpoint_slots = False  # nothing on that port beyond what get_num_tokens uses
                try:
                    self._engine = xllamacpp.Server(params)
                except Exception as e:  # xllamacpp only says "Failed to init server"
                    raise LLMError(f"{self.label}: the engine could not load {self.model_path} with "
                                   f"context_tokens={self.context_tokens} ({e}); is the file a complete GGUF model "
                                   f"and is there enough memory?") from None
                logger.info("loaded %s (%d threads, %d-token context)", self.model_path, self.threads,
                            self.context_tokens)
            return self._engine

    def get_num_tokens(self, text: str) -> int:
        """Tokens of text by the model's own tokenizer (the engine's /tokenize endpoint on loopback)."""
        engine = self.load()
        request = urllib.request.Request(
            engine.listening_address + "/tokenize",
            data=json.dumps({"content": text, "add_special": False}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self._http_key}"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
        try:
            with opener.open(request, timeout=30) as response:
                return len(json.load(response)["tokens"])
        except (OSError, ValueError, KeyError) as e:
            logger.warning("tokenizing with %s failed (%s); approximating", self.label, e)
            return approximate_tokens(text)

    def first_token_probabilities(self, messages: Sequence[BaseMessage], top: int = 10) -> dict[str, float]:
        """{token: probability} of the `top` likeliest first tokens of the reply (greedy, one token generated):
        what a yes/no check reads instead of the one word the model would write."""
        engine = self.load()
        request = {"messages": convert_to_openai_messages(list(messages)), "max_tokens": 1, "temperature": 0.0,
                   "logprobs": True, "top_logprobs": top}
        replies: list[Any] = []
        engine.handle_chat_completions(request, lambda data: replies.append(data) or False)
        for reply in replies:
            if not isinstance(reply, dict):
                continue
            if "error" in reply:
                raise self._engine_error(reply)
            for choice in reply.get("choices", []):
                content = (choice.get("logprobs") or {}).get("content") or []
                if content:
                    return {e["token"]: math.exp(e["logprob"]) for e in content[0].get("top_logprobs", [])}
        return {}

    def _engine_error(self, reply: dict) -> LLMError:
        """The LLMError for an engine reply that carries an error instead of output."""
        error = reply["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        return LLMError(f"{self.label}: {_one_line(message)}")

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        engine = self.load()
        request = {
            "messages": convert_to_openai_messages(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": kwargs.get("temperature", self.temperature),
        }
        if stop:
            request["stop"] = stop
        # handle_chat_completions blocks until the answer is complete, calling back per piece (without the GIL
        # between pieces), so it runs in a thread and hands pieces over a queue; the callback's return value
        # True asks the engine to stop, which is how an abandoned stream is cancelled.
        pieces: queue.SimpleQueue = queue.SimpleQueue()
        cancel = threading.Event()
        done = object()

        def on_piece(data: Any) -> bool:
            pieces.put(data)
            return cancel.is_set()

        def work() -> None:
            try:
                engine.handle_chat_completions(request, on_piece)
            except Exception as e:
                pieces.put(e)
            finally:
                pieces.put(done)

        threading.Thread(target=work, name="xllamacpp-generate", daemon=True).start()
        try:
            while True:
                try:
                    item = pieces.get(timeout=self.timeout_s)
                except queue.Empty:
                    raise LLMError(f"{self.label}: no output within {self.timeout_s:g} s (a long prompt on a "
                                   f"slow CPU? try fewer sources, more threads or a smaller model)") from None
                if item is done:
                    return
                if isinstance(item, Exception):
                    raise LLMError(f"{self.label}: {_one_line(item)}") from None
                if "error" in item:
                    raise self._engine_error(item)
                chunk = _chunk_from_openai(item)
                if chunk is not None:
                    if run_manager and chunk.text:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        finally:
            cancel.set()


def _chunk_from_openai(data: dict) -> ChatGenerationChunk | None:
    """A LangChain chunk from one chat.completion.chunk dict; None for pieces that carry nothing."""
    choices = data.get("choices") or []
    choice = choices[0] if choices else {}
    text = (choice.get("delta") or {}).get("content") or ""
    finish = choice.get("finish_reason")
    usage = data.get("usage")
    if not (text or finish or usage):
        return None
    meta: dict[str, Any] = {}
    if finish:
        meta["finish_reason"] = finish
    if data.get("timings"):
        meta["timings"] = data["timings"]  # llama.cpp's prompt/generation speeds
    usage_metadata = None
    if usage:
        usage_metadata = {"input_tokens": usage.get("prompt_tokens", 0),
                          "output_tokens": usage.get("completion_tokens", 0),
                          "total_tokens": usage.get("total_tokens", 0)}
    message = AIMessageChunk(content=text, response_metadata=meta, usage_metadata=usage_metadata)
    return ChatGenerationChunk(message=message)


def _validate(config: LLMConfig) -> None:
    if config.backend not in BACKENDS:
        raise LLMError(f"unknown LLM backend {config.backend!r}: use one of {', '.join(BACKENDS)}")
    if not config.model:
        raise LLMError(f"{config.backend} backend: no model name configured")
    if config.threads < 1 or config.max_tokens < 1 or config.timeout_s <= 0 or config.temperature < 0:
        raise LLMError("LLM settings out of range: threads and max_tokens must be >= 1, timeout_s > 0, "
                       "temperature >= 0")
    if config.context_tokens < 256 or config.max_tokens >= config.context_tokens:
        raise LLMError(f"LLM context_tokens={config.context_tokens} must be >= 256 and larger than "
                       f"max_tokens={config.max_tokens}, to leave room for the question and sources")


def make_chat_model(config: LLMConfig, progress: Progress | bool = True) -> BaseChatModel:
    """The configured chat model. Local: resolves (and once, assembles) the model file; loading waits for first use
    or check_backend. Nothing here contacts a server."""
    _validate(config)
    if config.backend == "local":
        try:
            path = resolve_model_file(config.model, config.cache_dir, progress)
        except ModelFileError as e:
            raise LLMError(f"local model {config.model}: {e}") from None
        return LocalChatModel(model_path=str(path), context_tokens=config.context_tokens, threads=config.threads,
                              temperature=config.temperature, max_tokens=config.max_tokens,
                              timeout_s=config.timeout_s)
    if config.backend == "openai":
        from langchain_openai import ChatOpenAI

        if not config.api_key and not config.base_url:
            raise LLMError(f"OpenAI-compatible endpoint {OPENAI_URL} (model {config.model}): no API key "
                           f"configured (set one, or a base URL for a keyless local server)")
        extra = {}
        if config.base_url:
            # ChatOpenAI sends only max_completion_tokens; older servers (LM Studio, older llama.cpp) know just
            # max_tokens and would otherwise generate without a limit.
            extra["extra_body"] = {"max_tokens": config.max_tokens}
        return ChatOpenAI(
            model=config.model,
            base_url=config.base_url or OPENAI_URL,
            # Explicit, so an OPENAI_API_KEY in the environment is never sent to some other server.
            api_key=config.api_key or "unused",
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            timeout=config.timeout_s,
            max_retries=1,  # a down server should fail in about a second, not after minutes of backoff
            streaming=True,
            **extra,
        )
    from langchain_ollama import ChatOllama

    return ChatOllama(
        model=config.model,
        base_url=config.base_url or OLLAMA_URL,
        temperature=config.temperature,
        num_predict=config.max_tokens,
        num_ctx=config.context_tokens,  # Ollama's default window is small and it truncates silently
        client_kwargs={"timeout": config.timeout_s},
    )


def describe(model: BaseChatModel) -> str:
    """Backend, URL and model of a chat model, for messages (never the key)."""
    if isinstance(model, LocalChatModel):
        return model.label
    name = type(model).__name__
    if name == "ChatOpenAI":
        return f"OpenAI-compatible endpoint {model.openai_api_base or OPENAI_URL} (model {model.model_name})"
    if name == "ChatOllama":
        return f"Ollama at {model.base_url or OLLAMA_URL} (model {model.model})"
    return name


def check_backend(model: BaseChatModel, config: LLMConfig | None = None) -> None:
    """Fail early with LLMError if the backend cannot answer: loads the local model, or asks the server which
    models it has (seconds at most)."""
    if isinstance(model, LocalChatModel):
        model.load()
        return
    try:
        if type(model).__name__ == "ChatOpenAI":
            listing = model.root_client.with_options(timeout=min(10.0, model.request_timeout or 10.0),
                                                     max_retries=0).models.list()
            served = [m.id for m in listing.data]
            if served and model.model_name not in served:  # llama.cpp serves any name, so only a warning
                logger.warning("%s does not list model %s (it lists %s)", describe(model), model.model_name,
                               ", ".join(served[:5]))
        elif type(model).__name__ == "ChatOllama":
            model._client.show(model.model)
    except Exception as e:
        raise _as_llm_error(model, e) from None


def stream_text(model: BaseChatModel, messages: Sequence[Any]) -> Iterator[str]:
    """Text pieces of the model's answer as they come; backend failures raise LLMError."""
    try:
        for chunk in model.stream(list(messages)):
            text = str(chunk.text)  # a str subclass in langchain-core 1.x
            if text:
                yield text
    except LLMError:
        raise
    except Exception as e:
        raise _as_llm_error(model, e) from None


def _as_llm_error(model: BaseChatModel, exc: Exception) -> LLMError:
    message = f"{describe(model)}: {_reason(model, exc)}"
    key = getattr(model, "openai_api_key", None)
    secret = key.get_secret_value() if key is not None and hasattr(key, "get_secret_value") else None
    if secret and len(secret) > 6:
        message = message.replace(secret, "***")
    return LLMError(message)


def _reason(model: BaseChatModel, exc: Exception) -> str:
    import httpx
    import openai

    if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException, TimeoutError)):
        return "timed out (server too slow or not answering)"
    if isinstance(exc, openai.APIConnectionError | httpx.ConnectError | ConnectionError):
        return f"cannot connect ({_root_cause(exc)}); is the server running at that URL?"
    if isinstance(exc, openai.AuthenticationError):
        return "the API key was rejected (HTTP 401)"
    if isinstance(exc, openai.NotFoundError):
        return (f"not found (HTTP 404: {_one_line(exc.message)}); check the model name, and that the base URL "
                f"ends in /v1")
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {_one_line(exc.message)}"
    try:
        import ollama

        if isinstance(exc, ollama.ResponseError):
            if exc.status_code == 404:
                return f"model not found (run: ollama pull {getattr(model, 'model', '')})"
            return f"HTTP {exc.status_code}: {_one_line(exc.error)}"
    except ImportError:
        pass
    return f"{type(exc).__name__}: {_one_line(exc)}"


def _root_cause(exc: BaseException) -> str:
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__
    text = _one_line(seen)
    if isinstance(exc, ConnectionError) and "Ollama" in str(exc):
        text = "connection failed"  # ollama's own message is an install hint; the URL is in our prefix
    return text or type(seen).__name__


def _one_line(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def approximate_tokens(text: str) -> int:
    """Tokens of text without a tokenizer. BPE tokenizers split words into ~1.3 pieces, punctuation into single
    tokens, and Qwen's every digit into its own token; long compound words (German) are better measured in bytes
    (~4 per token). 10 % on top of the larger estimate: against Qwen's tokenizer this overcounts prose and code by
    10-30 % and digit-heavy tables by ~5 %, erring towards leaving room in the window."""
    if not text:
        return 0
    pieces = 1.3 * len(_WORDS.findall(text)) + len(_DIGITS.findall(text)) + len(_PUNCT.findall(text))
    return math.ceil(1.1 * max(pieces, len(text.encode("utf-8")) / 4))


def count_tokens(model_or_config: BaseChatModel | LLMConfig, text: str) -> int:
    """Tokens of text for fitting sources into the window: the local model's own tokenizer when given a loaded
    LocalChatModel, else approximate_tokens (remote tokenizers are unknown; tiktoken would need the network)."""
    if isinstance(model_or_config, LocalChatModel):
        return model_or_config.get_num_tokens(text)
    return approximate_tokens(text)


def context_window(config: LLMConfig) -> int:
    """Tokens the model sees at once (prompt + answer): the configured context_tokens for every backend; for
    openai the server's real window is unknown, so the setting is trusted."""
    return config.context_tokens
