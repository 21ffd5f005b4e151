"""The OpenAI wire format: parse ``/v1/completions`` and ``/v1/chat/completions`` bodies,
build responses and server-sent-event chunks.

Unknown request fields are accepted and ignored, as OpenAI-compatible servers do; the
fields that matter are checked with messages that name the field (``param``). Chat
requests are mapped onto the adapters' single-prompt interface: system (and developer)
messages become the system prompt, the last user message the prompt; earlier turns are
not sent to the model. Streaming sends the finished generation in word-sized chunks
(the adapters generate a whole text at a time), then ``data: [DONE]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import orjson

from safeship.gateway import errors
from safeship.gateway.request_models import ChatBody, CompletionBody, RequestBody, validate

if TYPE_CHECKING:
    from collections.abc import Iterator

    from safeship.models.base import Generation
    from safeship.params import ServingParams

Endpoint = Literal["completions", "chat"]
_PIECE = re.compile(r"\s*\S+")


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    endpoint: Endpoint
    model: str
    prompts: list[str]
    system_prompt: str | None
    max_tokens: int
    temperature: float
    seed: int | None
    stream: bool
    include_usage: bool
    user: str | None

    @property
    def logged_prompt(self) -> str:
        text = "\n".join(self.prompts)
        return f"[system] {self.system_prompt}\n{text}" if self.system_prompt else text


def _common(body: RequestBody, params: ServingParams, token_key: str) -> dict[str, Any]:
    """The checks that depend on params.yaml or span fields, after the typed parse."""
    if not body.model.strip():
        raise errors.invalid(
            f"'model' must be a non-empty string, got {body.model!r}.",
            param="model",
            code="invalid_type",
        )
    max_tokens = getattr(body, token_key)
    if max_tokens is None:
        max_tokens = params.default_max_tokens
    if not 1 <= max_tokens <= params.max_tokens_limit:
        raise errors.invalid(
            f"'{token_key}' is {max_tokens}: it must be between 1 and {params.max_tokens_limit} "
            "(serving.max_tokens_limit).",
            param=token_key,
        )
    temperature = 1.0 if body.temperature is None else float(body.temperature)
    if not 0.0 <= temperature <= 2.0:
        raise errors.invalid(
            f"'temperature' must be a number from 0 to 2, got {body.temperature!r}.",
            param="temperature",
        )
    return {
        "model": body.model.strip(),
        "max_tokens": max_tokens,
        "temperature": temperature,
        "seed": body.seed,
        "stream": bool(body.stream),
        "include_usage": body.stream_options is not None and body.stream_options.include_usage,
        "user": body.user or None,
    }


def _check_size(chars: int, params: ServingParams, param: str) -> None:
    if chars > params.max_prompt_chars:
        raise errors.invalid(
            f"The prompt is {chars} characters long; the limit is {params.max_prompt_chars} "
            "(serving.max_prompt_chars). Shorten it.",
            param=param,
            code="context_length_exceeded",
        )


def parse_completion(body: bytes | dict[str, Any], params: ServingParams) -> ParsedRequest:
    """A ``/v1/completions`` body (raw JSON bytes: parsed and validated in one pass)."""
    request: CompletionBody = validate(CompletionBody, body)
    prompts = [request.prompt] if isinstance(request.prompt, str) else list(request.prompt)
    common = _common(request, params, "max_tokens")
    _check_size(sum(len(p) for p in prompts), params, "prompt")
    return ParsedRequest(endpoint="completions", prompts=prompts, system_prompt=None, **common)


def parse_chat(body: bytes | dict[str, Any], params: ServingParams) -> ParsedRequest:
    """A ``/v1/chat/completions`` body: system (and developer) messages become the system
    prompt, the last user message the prompt."""
    request: ChatBody = validate(ChatBody, body)
    token_key = (
        "max_completion_tokens" if request.max_completion_tokens is not None else "max_tokens"
    )
    common = _common(request, params, token_key)
    system: list[str] = []
    user: str | None = None
    total = 0
    for message in request.messages:
        text = message.text()
        total += len(text)
        if message.role in ("system", "developer"):
            system.append(text)
        elif message.role == "user":
            user = text
    if user is None:
        raise errors.invalid("'messages' holds no user message.", param="messages")
    _check_size(total, params, "messages")
    return ParsedRequest(
        endpoint="chat", prompts=[user], system_prompt="\n".join(system) or None, **common
    )


# ---------------------------------------------------------------------- responses
def finish_reason(generation: Generation, max_tokens: int) -> str:
    return "length" if generation.completion_tokens >= max_tokens else "stop"


def usage(generations: list[Generation]) -> dict[str, int]:
    prompt = sum(g.prompt_tokens for g in generations)
    completion = sum(g.completion_tokens for g in generations)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def response(
    request: ParsedRequest, rid: str, created: int, model: str, generations: list[Generation]
) -> dict[str, Any]:
    if request.endpoint == "chat":
        g = generations[0]
        choices: list[dict[str, Any]] = [
            {
                "index": 0,
                "message": {"role": "assistant", "content": g.text},
                "logprobs": None,
                "finish_reason": finish_reason(g, request.max_tokens),
            }
        ]
        kind = "chat.completion"
    else:
        choices = [
            {
                "index": i,
                "text": g.text,
                "logprobs": None,
                "finish_reason": finish_reason(g, request.max_tokens),
            }
            for i, g in enumerate(generations)
        ]
        kind = "text_completion"
    return {
        "id": rid,
        "object": kind,
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage(generations),
        "system_fingerprint": None,
    }


def pieces(text: str) -> list[str]:
    """Word-sized pieces whose concatenation is ``text``."""
    found = _PIECE.findall(text)
    rest = text[len("".join(found)) :]
    if rest:
        found.append(rest)
    return found


def dumps(data: Any) -> bytes:
    """JSON bytes for a response body (orjson: UTF-8, no spaces, ~10x the stdlib's speed)."""
    return orjson.dumps(data)


def sse(data: dict[str, Any] | str) -> bytes:
    payload = data.encode() if isinstance(data, str) else orjson.dumps(data)
    return b"data: " + payload + b"\n\n"


def stream_events(
    request: ParsedRequest, rid: str, created: int, model: str, generations: list[Generation]
) -> Iterator[bytes]:
    """The SSE body for a finished generation, ending with ``data: [DONE]``."""
    chat = request.endpoint == "chat"
    kind = "chat.completion.chunk" if chat else "text_completion"

    def chunk(choices: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> bytes:
        body = {"id": rid, "object": kind, "created": created, "model": model, "choices": choices}
        if request.include_usage:
            body["usage"] = None
        return sse({**body, **(extra or {})})

    for index, g in enumerate(generations):
        if chat:
            yield chunk(
                [
                    {
                        "index": index,
                        "delta": {"role": "assistant", "content": ""},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ]
            )
        for piece in pieces(g.text):
            if chat:
                choice = {
                    "index": index,
                    "delta": {"content": piece},
                    "logprobs": None,
                    "finish_reason": None,
                }
            else:
                choice = {"index": index, "text": piece, "logprobs": None, "finish_reason": None}
            yield chunk([choice])
        reason = finish_reason(g, request.max_tokens)
        if chat:
            yield chunk([{"index": index, "delta": {}, "logprobs": None, "finish_reason": reason}])
        else:
            yield chunk([{"index": index, "text": "", "logprobs": None, "finish_reason": reason}])
    if request.include_usage:
        yield chunk([], {"usage": usage(generations)})
    yield sse("[DONE]")
