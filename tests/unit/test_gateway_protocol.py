"""The OpenAI wire format: request checks, responses, SSE chunks; rate-limited events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from safeship.gateway import protocol
from safeship.gateway.errors import GatewayError
from safeship.gateway.events import RefusalRecorder
from safeship.models.base import Generation
from safeship.params import ServingParams

PARAMS = ServingParams(max_prompt_chars=100, max_tokens_limit=50, default_max_tokens=10)


def _fails(body: Any, param: str | None, chat: bool = False) -> GatewayError:
    parse = protocol.parse_chat if chat else protocol.parse_completion
    with pytest.raises(GatewayError) as caught:
        parse(body, PARAMS)
    assert caught.value.status == 400 and caught.value.param == param
    return caught.value


def test_completion_defaults_and_limits() -> None:
    parsed = protocol.parse_completion({"model": "m", "prompt": "hi", "extra": 1}, PARAMS)
    assert (parsed.max_tokens, parsed.temperature, parsed.stream, parsed.prompts) == (
        10,
        1.0,
        False,
        ["hi"],
    )
    _fails({"model": "m", "prompt": "hi", "max_tokens": 0}, "max_tokens")
    _fails({"model": "m", "prompt": "hi", "max_tokens": 51}, "max_tokens")
    _fails({"model": "m", "prompt": "hi", "max_tokens": True}, "max_tokens")
    _fails({"model": "m", "prompt": [1, 2]}, "prompt")
    _fails({"model": "m", "prompt": "hi", "n": 2}, "n")
    _fails({"model": "m", "prompt": "hi", "stream": "yes"}, "stream")
    assert _fails({"model": "m", "prompt": "x" * 101}, "prompt").code == "context_length_exceeded"
    assert _fails({"prompt": "hi"}, "model").code == "missing_required_parameter"


def test_chat_messages() -> None:
    parsed = protocol.parse_chat(
        {"model": "m", "max_completion_tokens": 5, "messages": [
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": None},
            {"role": "user", "content": [{"type": "text", "text": "sec"}, {"type": "text", "text": "ond"}]},
        ]},
        PARAMS,
    )  # fmt: skip
    assert (parsed.prompts, parsed.system_prompt, parsed.max_tokens) == (["second"], "Be kind.", 5)
    _fails({"model": "m", "messages": [{"role": "system", "content": "x"}]}, "messages", chat=True)
    _fails(
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
        "messages[0].content",
        chat=True,
    )
    _fails({"model": "m", "messages": "hi"}, "messages", chat=True)


def test_decode_body() -> None:
    for raw in (b"", b"{", b"[]", b"\xff"):
        with pytest.raises(GatewayError) as caught:
            protocol.decode_body(raw)
        assert caught.value.code == "invalid_json"


def test_pieces_rebuild_the_text() -> None:
    for text in ("", "one", "  two words  ", "a\nb\tc ."):
        assert "".join(protocol.pieces(text)) == text


def test_stream_events_end_with_done() -> None:
    parsed = protocol.parse_chat(
        {"model": "m", "stream": True, "stream_options": {"include_usage": True},
         "messages": [{"role": "user", "content": "hi"}]}, PARAMS,
    )  # fmt: skip
    gen = Generation(
        prompt="hi", text="hello there friend", prompt_tokens=1, completion_tokens=3, latency_s=0.0
    )
    events = [e.decode() for e in protocol.stream_events(parsed, "id", 0, "m@1", [gen])]
    assert events[-1] == "data: [DONE]\n\n"
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "hello there friend"
    assert chunks[-1]["usage"]["total_tokens"] == 4


class _FakeRegistry:
    def __init__(self) -> None:
        self.events: list[tuple[str, str | None]] = []

    def record(self, kind: str, **fields: Any) -> None:
        self.events.append((kind, fields["version"]))


def test_refusal_events_are_rate_limited() -> None:
    registry = _FakeRegistry()
    recorder = RefusalRecorder(registry, interval_s=60)  # type: ignore[arg-type]
    results = [
        recorder.record("gateway.pin_refused", model="m", version="1.2.0", payload={})
        for _ in range(100)
    ]
    recorder.record("gateway.pin_refused", model="m", version="2.0.0", payload={})
    recorder.close()
    assert results.count(True) == 1
    assert registry.events == [("gateway.pin_refused", "1.2.0"), ("gateway.pin_refused", "2.0.0")]
