"""The generator Protocol every adapter implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class GenerationRequest:
    """Options for one batch; every prompt in the batch shares them."""

    max_new_tokens: int = 64
    temperature: float = 1.0
    seed: int | None = 0
    system_prompt: str | None = None


@dataclass
class Generation:
    """The result for one prompt. ``error`` is set (and ``text`` empty) when it failed."""

    prompt: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    error: str | None = None
    token_logprobs: list[float] | None = field(default=None)
    attempts: int = 1  # requests made for this prompt (retries after transient failures + 1)

    @property
    def ok(self) -> bool:
        return self.error is None


@runtime_checkable
class Generator(Protocol):
    """A loaded model version that turns prompts into text.

    ``generate`` never raises for a single prompt's failure: it records the error on that
    prompt and goes on with the batch.
    """

    name: str

    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]: ...

    def close(self) -> None: ...
