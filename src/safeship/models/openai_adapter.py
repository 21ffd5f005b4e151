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
from safeship.models.deadline import DeadlinePassed, UpstreamSlots, fetch_before
from safeship.models.loader import VERSION_METADATA_KEYS, read_config_json
from safeship.models.openai_wire import (
    Failure,
    classify,
    close_on,
    failed,
    parse,
    warm_async_stack,
)

if TYPE_CHECKING:
    import asyncio

    import httpx


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


class OpenAIGenerator:
    """Generation through an OpenAI-compatible ``/chat/completions`` or ``/completions``.

    Two paths share one :class:`UpstreamSlots` bound: :meth:`generate` (threads, a pooled
    ``httpx.Client``) for batch work, and :meth:`agenerate` (coroutines on the caller's
    event loop, ``concurrency`` keep-alive connections per loop) for the gateway.
    """

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
        self._timeout = options.timeout_s
        self._client_options: dict[str, Any] = {
            # one TLS context for every client (building one is ~10-50 ms of CPU; a lane
            # per connection would otherwise stall the event loop while it warms up)
            "verify": httpx.create_ssl_context(),
            "headers": headers,
            "timeout": httpx.Timeout(
                options.timeout_s, connect=options.connect_timeout_s or min(options.timeout_s, 10)
            ),
            "limits": httpx.Limits(
                max_connections=options.concurrency, max_keepalive_connections=options.concurrency
            ),
        }
        self._client: httpx.Client | None = httpx.Client(**self._client_options)
        self._async_clients: dict[asyncio.AbstractEventLoop, list[httpx.AsyncClient]] = {}
        # built at load, off the request path: the first request on a loop would otherwise
        # pay for the client (TLS context included) and the async stack's first use
        self._spare: list[httpx.AsyncClient] = [self._lane()]
        warm_async_stack()
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

    def _check(self, request: GenerationRequest) -> None:
        if request.max_new_tokens < 1:
            raise InputError(f"max_new_tokens must be at least 1, got {request.max_new_tokens}")
        if math.isnan(request.temperature) or request.temperature < 0:
            raise InputError(f"temperature must be >= 0, got {request.temperature}")

    def _closed(self, prompts: list[str]) -> list[Generation]:
        return [failed(p, f"{self.name}: the generator is closed", 0.0) for p in prompts]

    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        """One request per prompt, at most ``concurrency`` at a time; order is kept."""
        self._check(request)
        if self._client is None:
            return self._closed(prompts)
        if len(prompts) <= 1 or self.options.concurrency == 1:
            return [self._one(prompt, request) for prompt in prompts]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.options.concurrency, thread_name_prefix="safeship-openai"
            )
        return list(self._pool.map(lambda prompt: self._one(prompt, request), prompts))

    async def agenerate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        """:meth:`generate` on the running event loop: no thread, a shared connection pool."""
        import asyncio

        self._check(request)
        if self._client is None:
            return self._closed(prompts)
        if len(prompts) == 1:
            return [await self._one_async(prompts[0], request)]
        batch = asyncio.Semaphore(self.options.concurrency)  # a batch never queues past it

        async def one(prompt: str) -> Generation:
            async with batch:
                return await self._one_async(prompt, request)

        return list(await asyncio.gather(*(one(prompt) for prompt in prompts)))

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
        overall = started + self._overall_s()
        body = self._body(prompt, request)
        attempts = 0
        while True:
            attempts += 1
            try:
                deadline = min(time.perf_counter() + self.options.timeout_s, overall)
                reply = self._attempt(body, deadline)
            except Failure as failure:
                delay = self._retry_in(failure, attempts, overall)
                if delay is not None:
                    time.sleep(delay)
                    continue
                return self._failed(prompt, failure, started, attempts)
            except Exception as exc:  # never let one prompt sink the batch
                return self._failed(prompt, exc, started, attempts)
            return self._generation(prompt, reply, started, attempts)

    async def _one_async(self, prompt: str, request: GenerationRequest) -> Generation:
        import asyncio

        import orjson

        started = time.perf_counter()
        overall = started + self._overall_s()
        body = orjson.dumps(self._body(prompt, request))
        attempts = 0
        while True:
            attempts += 1
            try:
                deadline = min(time.perf_counter() + self.options.timeout_s, overall)
                reply = await self._attempt_async(body, deadline)
            except Failure as failure:
                delay = self._retry_in(failure, attempts, overall)
                if delay is not None:
                    await asyncio.sleep(delay)
                    continue
                return self._failed(prompt, failure, started, attempts)
            except Exception as exc:  # never let one prompt sink the batch
                return self._failed(prompt, exc, started, attempts)
            return self._generation(prompt, reply, started, attempts)

    def _overall_s(self) -> float:
        options = self.options
        return options.deadline_s or options.timeout_s * (options.max_retries + 1)

    def _retry_in(self, failure: Failure, attempts: int, overall: float) -> float | None:
        """Seconds to wait before the next attempt, or None: give up."""
        delay = self._delay(attempts, failure.retry_after)
        retry = failure.retriable and attempts <= self.options.max_retries
        return delay if retry and time.perf_counter() + delay < overall else None

    def _failed(self, prompt: str, error: Exception, started: float, attempts: int) -> Generation:
        if isinstance(error, Failure):
            tries = f" after {attempts} attempts" if attempts > 1 else ""
            message = f"POST {self.url}: {error}{tries}"
        else:
            message = f"POST {self.url}: {type(error).__name__}: {error}"
        return failed(prompt, message, time.perf_counter() - started, attempts)

    @staticmethod
    def _generation(
        prompt: str, reply: tuple[str, int | None, int | None], started: float, attempts: int
    ) -> Generation:
        text, prompt_tokens, completion_tokens = reply
        return Generation(
            prompt=prompt,
            text=text,
            prompt_tokens=len(prompt.split()) if prompt_tokens is None else prompt_tokens,
            completion_tokens=len(text.split()) if completion_tokens is None else completion_tokens,
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
        assert self._client is not None
        try:
            with self._slots.taken(deadline, self.name):
                response = fetch_before(self._client, self.url, body, deadline)
        except Exception as exc:  # noqa: BLE001 - classify re-raises what it does not know
            raise classify(exc, self._timeout, self.options.retry_on_timeout) from exc
        return parse(response, self.options.mode)

    async def _attempt_async(
        self, body: bytes, deadline: float
    ) -> tuple[str, int | None, int | None]:
        """One POST; one ``asyncio.timeout`` bounds the slot wait, the connection, the
        headers and every byte of the body (a cancelled request's connection is dropped)."""
        import asyncio

        try:
            async with self._slots.taken_async(deadline, self.name):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise DeadlinePassed("the deadline passed before the request was sent")
                lanes = self._lanes()
                client = lanes.pop() if lanes else self._lane()
                try:
                    async with asyncio.timeout(remaining):
                        response = await client.post(self.url, content=body)
                finally:
                    lanes.append(client)
        except Exception as exc:  # noqa: BLE001 - classify re-raises what it does not know
            raise classify(exc, self._timeout, self.options.retry_on_timeout) from exc
        return parse(response, self.options.mode)

    def _lanes(self) -> list[httpx.AsyncClient]:
        """The idle connections of the running event loop (the gateway has one loop).

        The pool is ``concurrency`` one-connection clients, a request takes one while it
        holds its slot: httpx's shared pool re-scans every connection for every queued
        request, which cost 2.5x the CPU per request at 16 callers."""
        import asyncio

        loop = asyncio.get_running_loop()
        lanes = self._async_clients.get(loop)
        if lanes is None:
            for old in [o for o in self._async_clients if o.is_closed()]:
                del self._async_clients[old]  # a finished asyncio.run: its sockets are gone
            lanes = self._async_clients[loop] = self._spare
            self._spare = []
        return lanes

    def _lane(self) -> httpx.AsyncClient:
        import httpx

        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        return httpx.AsyncClient(**{**self._client_options, "limits": limits})

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None
        clients, self._async_clients = self._async_clients, {}
        self._spare = []  # never used: no connection to close
        for loop, lanes in clients.items():
            for client in lanes:
                close_on(loop, client)
