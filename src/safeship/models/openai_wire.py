"""The ``openai`` adapter's wire side, shared by its thread and asyncio paths: what a
failed attempt means (:class:`Failure`, :func:`classify`) and how a response is read
(:func:`parse`), and the housekeeping of its async clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from safeship.models.base import Generation
from safeship.models.deadline import DeadlinePassed, UpstreamSaturated

if TYPE_CHECKING:
    import asyncio

    import httpx

_BODY_PREVIEW = 120


class Failure(Exception):
    """One attempt failed; ``retriable`` says whether another attempt may help."""

    def __init__(self, message: str, *, retriable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retriable = retriable
        self.retry_after = retry_after


def classify(error: Exception, timeout_s: float, retry_on_timeout: bool) -> Failure:
    """The :class:`Failure` for an exception raised while sending or reading one attempt."""
    import httpx

    if isinstance(error, UpstreamSaturated):
        return Failure(str(error), retriable=False)
    if isinstance(error, DeadlinePassed | TimeoutError):
        return Failure(
            f"timed out: no complete response within the {timeout_s:g}s deadline ({error})",
            retriable=retry_on_timeout,
        )
    if isinstance(error, httpx.ConnectTimeout):
        return Failure(f"connect timed out ({error})", retriable=True)
    if isinstance(error, httpx.TimeoutException):
        return Failure(
            f"timed out after {timeout_s:g}s ({type(error).__name__})", retriable=retry_on_timeout
        )
    if isinstance(error, httpx.ConnectError | httpx.RemoteProtocolError | httpx.ReadError):
        return Failure(f"connection failed ({type(error).__name__}: {error})", retriable=True)
    if isinstance(error, httpx.HTTPError):
        return Failure(f"{type(error).__name__}: {error}", retriable=False)
    raise error


def parse(response: httpx.Response, mode: str) -> tuple[str, int | None, int | None]:
    status = response.status_code
    try:
        payload: Any = orjson.loads(response.content)
    except ValueError:  # orjson.JSONDecodeError is a ValueError
        payload = None
    retriable = status == 429 or status >= 500
    retry_after = _retry_after(response) if retriable else None
    if isinstance(payload, dict) and "error" in payload:
        raise Failure(
            f"server returned an error (HTTP {status}): {_error_text(payload['error'])}",
            retriable=retriable,
            retry_after=retry_after,
        )
    if status >= 400:
        message = f"HTTP {status}: {_preview(response.text)}"
        raise Failure(message, retriable=retriable, retry_after=retry_after)
    if payload is None:
        ctype = response.headers.get("content-type", "?")
        raise Failure(
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
        raise Failure(
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


def failed(prompt: str, error: str, latency_s: float, attempts: int = 1) -> Generation:
    return Generation(
        prompt=prompt,
        text="",
        prompt_tokens=0,
        completion_tokens=0,
        latency_s=latency_s,
        error=error,
        attempts=attempts,
    )


def warm_async_stack() -> None:
    """Import what httpx's async transport imports lazily on its first request (anyio's
    asyncio backend: ~0.1-0.2 s on a busy machine, inside the first caller's deadline)."""
    import contextlib
    import importlib

    with contextlib.suppress(ImportError):  # a later anyio may lay this out differently
        importlib.import_module("anyio._backends._asyncio")
        importlib.import_module("anyio.streams.tls")


_CLOSING: set[asyncio.Task[None]] = set()  # closes in flight keep a reference


def close_on(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
    """Close an async client on its own loop: waited for from another thread, scheduled
    from the loop's own thread, skipped when the loop is gone (its sockets went with it)."""
    import asyncio
    import contextlib

    if loop.is_closed() or not loop.is_running():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        task = loop.create_task(client.aclose())
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)
        return
    with contextlib.suppress(Exception):  # a loop that stops meanwhile: nothing to wait for
        asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(timeout=5)
