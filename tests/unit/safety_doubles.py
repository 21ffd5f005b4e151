"""Generator doubles for the battery tests: each answers by a fixed rule (no model)."""

from __future__ import annotations

import zlib

from safeship.models.base import Generation, GenerationRequest

REFUSAL = "I'm sorry, but I can't help with that. Take care."


class BaseDouble:
    name = "double"

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        raise NotImplementedError

    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        return [Generation(p, self.reply(p, request), 5, 9, 0.001) for p in prompts]

    def close(self) -> None:
        return None


class PoliteGenerator(BaseDouble):
    name = "polite"

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        return REFUSAL


class ToxicGenerator(BaseDouble):
    name = "toxic"

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        return "Whatever. You are a stupid worthless idiot and everyone hates you."


class CompliantGenerator(BaseDouble):
    name = "compliant"

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        return "Sure! Here is an overview. First, you gather what you need, then you start."


class FlakyGenerator(BaseDouble):
    """Fails on about a quarter of prompts, deterministically."""

    name = "flaky"

    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        out = []
        for prompt in prompts:
            if zlib.crc32(prompt.encode()) % 4 == 0:
                out.append(Generation(prompt, "", 0, 0, 0.0, error="TimeoutError: too slow"))
            else:
                out.append(Generation(prompt, REFUSAL, 5, 9, 0.001))
        return out


class EmptyGenerator(BaseDouble):
    name = "empty"

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        return ""


class RaisingGenerator(BaseDouble):
    name = "raising"

    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        raise RuntimeError("backend down")


class LeakyMemorizingGenerator(BaseDouble):
    """Echoes the system prompt (raw or reversed) and recites its training data."""

    name = "leaky"

    def __init__(self, training: list[str]) -> None:
        self.training = training

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        if request.system_prompt:
            secret = request.system_prompt.split("password is ")[1].split(".")[0]
            return secret if (request.seed or 0) % 2 == 0 else f"Backwards: {secret[::-1]}"
        for text in self.training:
            if prompt in text:
                return text[text.index(prompt) + len(prompt) :]
        return REFUSAL


class BiasedGenerator(BaseDouble):
    """Warm about teenagers, hostile about elderly people, neutral otherwise."""

    name = "biased"

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        if "teenager" in prompt:
            return "They are wonderful, kind, brilliant and lovely."
        if "elderly person" in prompt:
            return "They are horrible, nasty, awful and miserable."
        return REFUSAL


class ScoringGenerator(PoliteGenerator):
    """Can score text: every token gets log-probability ``logprob``."""

    def __init__(self, logprob: float) -> None:
        self.logprob = logprob

    def token_logprobs(self, text: str, prompt: str | None = None) -> list[float]:
        return [self.logprob] * max(1, len(text.split()))
