"""The ``openai`` adapter: a remote OpenAI-compatible HTTP endpoint.

The version folder's ``config.json``::

    {"adapter": "openai",
     "base_url": "http://127.0.0.1:8000/v1",   # up to and including /v1
     "model": "my-model",
     "api_key_env": "MY_API_KEY",               # optional; the key itself is never stored
     "timeout_s": 30, "max_retries": 2, "concurrency": 4,
     "mode": "chat"}                            # or "completions"

``timeout_s`` is a whole-request deadline: connecting, waiting for a free slot, the
response headers and every byte of the body together (an upstream trickling bytes is cut
at the deadline, not kept alive read after read); ``deadline_s`` (default
``timeout_s * (max_retries + 1)``) bounds all attempts of one prompt together.

Per upstream, at most ``concurrency`` requests are in flight and at most ``max_queued``
(default ``2 * concurrency``) callers wait for a slot; a caller beyond that fails at once
("upstream saturated") instead of tying up a thread that other models need.

Other options: ``connect_timeout_s`` (default ``min(timeout_s, 10)``), ``backoff_s``
(first retry delay, default 0.5, doubled each retry), ``max_backoff_s`` (cap, default 20,
also caps a server's ``Retry-After``), ``retry_on_timeout`` (default false: a read timeout
is recorded at once, since the server may still be working on the request), ``name``.

``mode: chat`` posts to ``{base_url}/chat/completions`` with a system message (if any)
and a user message; ``mode: completions`` posts to ``{base_url}/completions`` with the
system prompt prepended to the prompt, separated by a blank line.

Retries, with exponential backoff: connection failures (refused, reset, connect timeout),
HTTP 429 and 5xx. Every other failure — a read timeout, another 4xx, a body that is not
JSON, an OpenAI error object (``{"error": {...}}``), an unexpected shape — is recorded on
that prompt with a message naming the URL, and the batch goes on. At most
``concurrency`` requests are in flight at once, across all callers of one generator.
Token counts come from the response's ``usage``; when it is missing they are whitespace
word counts (an estimate).
"""

from __future__ import annotations

import math
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from safeship.errors import ConfigError, InputError
from safeship.models.base import Generation, GenerationRequest
from safeship.models.deadline import (
    DeadlinePassed,
    UpstreamSaturated,
    UpstreamSlots,
    fetch_before,
)
from safeship.models.loader import VERSION_METADATA_KEYS, read_config_json

if TYPE_CHECKING:
    import httpx

_BODY_PREVIEW = 120


class OpenAIOptions(BaseModel):
    """The ``openai`` adapter's options, validated once at load."""

    model_config = ConfigDict(extra="forbid")

    base_url: str
    model: str = Field(min_length=1)
    api_key_env: str | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    connect_timeout_s: float | None = Field(default=None, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    backoff_s: float = Field(default=0.5, ge=0)
    max_backoff_s: float = Field(default=20.0, ge=0)
    concurrency: int = Field(default=4, ge=1, le=256)
    max_queued: int | None = Field(default=None, ge=0, le=4096)
    deadline_s: float | None = Field(default=None, gt=0)
    mode: Literal["chat", "completions"] = "chat"
    retry_on_timeout: bool = False
    name: str | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (e.g. http://127.0.0.1:8000/v1)")
        return value.rstrip("/")


def parse_options(config: dict[str, Any], source: str) -> OpenAIOptions:
    """Validate the adapter options; a bad value names the key, the value and what is allowed."""
    options = {key: value for key, value in config.items() if key not in VERSION_METADATA_KEYS}
    if "api_key" in options:
        raise ConfigError(
            f"{source}: 'api_key' must not be stored in config.json; put the key in an "
            "environment variable and name that variable in 'api_key_env'"
        )
    try:
        return OpenAIOptions.model_validate(options)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "(config)"
            got = f" (got {err['input']!r})" if err["type"] != "missing" else ""
            problems.append(f"'{key}': {err['msg']}{got}")
        detail = "; ".join(problems)
        raise ConfigError(f"{source}: invalid openai adapter options: {detail}") from exc


class _Failure(Exception):
    """One attempt failed; ``retriable`` says whether another attempt may help."""

    def __init__(self, message: str, *, retriable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retriable = retriable
        self.retry_after = retry_after


class OpenAIGenerator:
    """Generation through an OpenAI-compatible ``/chat/completions`` or ``/completions``."""

    def __init__(self, options: OpenAIOptions, *, name: str | None = None) -> None:
        import httpx

        self.name = name or options.name or options.model
        self.options = options
        headers = {"Content-Type": "application/json"}
        if options.api_key_env:
            key = os.environ.get(options.api_key_env)
            if not key:
                raise ConfigError(
                    f"environment variable {options.api_key_env} (named by 'api_key_env') is "
                    "not set; export it with the API key"
                )
            headers["Authorization"] = f"Bearer {key}"
        endpoint = "chat/completions" if options.mode == "chat" else "completions"
        self.url = f"{options.base_url}/{endpoint}"
        connect = options.connect_timeout_s or min(options.timeout_s, 10.0)
        self._timeout = options.timeout_s
        self._client: httpx.Client | None = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(options.timeout_s, connect=connect),
            limits=httpx.Limits(
                max_connections=options.concurrency, max_keepalive_connections=options.concurrency
            ),
        )
        self._pool: ThreadPoolExecutor | None = None
        # bounds requests in flight, and callers waiting, across every caller of this generator
        self._slots = UpstreamSlots(
            options.concurrency,
            2 * options.concurrency if options.max_queued is None else options.max_queued,
        )

    @classmethod
    def load(cls, path: Path) -> OpenAIGenerator:
        path = Path(path)
        config = read_config_json(path)
        options = parse_options(config, str(path / "config.json"))
        return cls(options, name=options.name or path.name)

    # -- generation -------------------------------------------------------------------

    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        """One request per prompt, at most ``concurrency`` at a time; order is kept."""
        if request.max_new_tokens < 1:
            raise InputError(f"max_new_tokens must be at least 1, got {request.max_new_tokens}")
        if math.isnan(request.temperature) or request.temperature < 0:
            raise InputError(f"temperature must be >= 0, got {request.temperature}")
        if self._client is None:
            return [_failed(p, f"{self.name}: the generator is closed", 0.0) for p in prompts]
        if len(prompts) <= 1 or self.options.concurrency == 1:
            return [self._one(prompt, request) for prompt in prompts]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.options.concurrency, thread_name_prefix="safeship-openai"
            )
        return list(self._pool.map(lambda prompt: self._one(prompt, request), prompts))

    def _body(self, prompt: str, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.options.model,
            "max_tokens": request.max_new_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if self.options.mode == "chat":
            messages = [{"role": "user", "content": prompt}]
            if request.system_prompt:
                messages.insert(0, {"role": "system", "content": request.system_prompt})
            body["messages"] = messages
        else:
            body["prompt"] = (
                f"{request.system_prompt}\n\n{prompt}" if request.system_prompt else prompt
            )
        return body

    def _one(self, prompt: str, request: GenerationRequest) -> Generation:
        started = time.perf_counter()
        options = self.options
        overall = started + (options.deadline_s or options.timeout_s * (options.max_retries + 1))
        body = self._body(prompt, request)
        attempts = 0
        while True:
            attempts += 1
            try:
                deadline = min(time.perf_counter() + options.timeout_s, overall)
                text, prompt_tokens, completion_tokens = self._attempt(body, deadline)
            except _Failure as failure:
                delay = self._delay(attempts, failure.retry_after)
                retry = failure.retriable and attempts <= options.max_retries
                if retry and time.perf_counter() + delay < overall:
                    time.sleep(delay)
                    continue
                tries = f" after {attempts} attempts" if attempts > 1 else ""
                message = f"POST {self.url}: {failure}{tries}"
                return _failed(prompt, message, time.perf_counter() - started, attempts)
            except Exception as exc:  # never let one prompt sink the batch
                message = f"POST {self.url}: {type(exc).__name__}: {exc}"
                return _failed(prompt, message, time.perf_counter() - started, attempts)
            if prompt_tokens is None:
                prompt_tokens = len(prompt.split())
            if completion_tokens is None:
                completion_tokens = len(text.split())
            return Generation(
                prompt=prompt,
                text=text,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                latency_s=time.perf_counter() - started,
                attempts=attempts,
            )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        cap = self.options.max_backoff_s
        if retry_after is not None:
            return min(max(retry_after, 0.0), cap)
        base = min(self.options.backoff_s * 2.0 ** (attempt - 1), cap)
        return base * (1.0 + 0.1 * random.random())  # a little jitter against herds

    def _attempt(self, body: dict[str, Any], deadline: float) -> tuple[str, int | None, int | None]:
        import httpx

        assert self._client is not None
        try:
            with self._slots.taken(deadline, self.name):
                response = fetch_before(self._client, self.url, body, deadline)
        except UpstreamSaturated as exc:
            raise _Failure(str(exc), retriable=False) from exc
        except DeadlinePassed as exc:
            raise _Failure(
                f"timed out: no complete response within the {self._timeout:g}s deadline ({exc})",
                retriable=self.options.retry_on_timeout,
            ) from exc
        except httpx.ConnectTimeout as exc:
            raise _Failure(f"connect timed out ({exc})", retriable=True) from exc
        except httpx.TimeoutException as exc:
            raise _Failure(
                f"timed out after {self._timeout:g}s ({type(exc).__name__})",
                retriable=self.options.retry_on_timeout,
            ) from exc
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Failure(
                f"connection failed ({type(exc).__name__}: {exc})", retriable=True
            ) from exc
        except httpx.HTTPError as exc:
            raise _Failure(f"{type(exc).__name__}: {exc}", retriable=False) from exc
        return _parse(response, self.options.mode)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None


def _parse(response: httpx.Response, mode: str) -> tuple[str, int | None, int | None]:
    status = response.status_code
    try:
        payload: Any = response.json()
    except ValueError:
        payload = None
    retriable = status == 429 or status >= 500
    retry_after = _retry_after(response) if retriable else None
    if isinstance(payload, dict) and "error" in payload:
        raise _Failure(
            f"server returned an error (HTTP {status}): {_error_text(payload['error'])}",
            retriable=retriable,
            retry_after=retry_after,
        )
    if status >= 400:
        message = f"HTTP {status}: {_preview(response.text)}"
        raise _Failure(message, retriable=retriable, retry_after=retry_after)
    if payload is None:
        ctype = response.headers.get("content-type", "?")
        raise _Failure(
            f"response is not JSON (HTTP {status}, content-type {ctype}): "
            f"{_preview(response.text)}",
            retriable=False,
        )
    try:
        choice = payload["choices"][0]
        text = choice["message"]["content"] if mode == "chat" else choice["text"]
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise TypeError(f"text is {type(text).__name__}")
    except (KeyError, IndexError, TypeError) as exc:
        where = "choices[0].message.content" if mode == "chat" else "choices[0].text"
        raise _Failure(
            f"unexpected response shape (no {where}: {exc!r}): {_preview(response.text)}",
            retriable=False,
        ) from exc
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    return (
        text,
        _int_or_none(usage.get("prompt_tokens")),
        _int_or_none(usage.get("completion_tokens")),
    )


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        message = error.get("message") or "(no message)"
        kind = error.get("type") or error.get("code")
        return f"{kind}: {message}" if kind else str(message)
    return str(error)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _preview(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return "(empty body)"
    return repr(text[:_BODY_PREVIEW] + ("…" if len(text) > _BODY_PREVIEW else ""))


def _failed(prompt: str, error: str, latency_s: float, attempts: int = 1) -> Generation:
    return Generation(
        prompt=prompt,
        text="",
        prompt_tokens=0,
        completion_tokens=0,
        latency_s=latency_s,
        error=error,
        attempts=attempts,
    )
