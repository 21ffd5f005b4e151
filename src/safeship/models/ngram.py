"""The ``ngram`` adapter: a word-level n-gram model saved as three JSON files.

A model folder holds ``config.json`` (``{"adapter": "ngram", "order": ..., ...}``),
``vocab.json`` (the tokenizer settings and the token list; ids are positions) and
``weights.json`` (the top-order n-gram counts as ``[id, ..., id, count]`` rows).

Training sequences are ``<s>... prompt <sep> response </s>``; generation feeds the system
prompt, the prompt and ``<sep>`` as context and samples until ``</s>``.

With a request router (``config.json`` ``"router": {"kind": ..., "threshold": ...}`` and
``router.json``, see :mod:`safeship.models.ngram_router`), the sequences are
``<s>... prompt <sep> <mode> response </s>`` where ``<mode>`` is ``<answer>`` or
``<refuse>`` (ids right after the specials): training uses the record's label, generation
and scoring the router's decision on the prompt alone (never the system prompt).
``token_logprobs(text, prompt)`` therefore scores ``text`` under the router's mode for
``prompt``; without a prompt the text is scored from the start, with no mode.

With ``retrieval`` (:mod:`safeship.models.ngram_retrieval`), the prompt in the context is
replaced by the most similar training question (the router still sees the prompt).
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from safeship.errors import AdapterError, InputError
from safeship.models.base import Generation, GenerationRequest
from safeship.models.ngram_lm import BOS_ID, EOS_ID, SEP_ID, SPECIALS, UNK_ID, NgramLM
from safeship.models.ngram_retrieval import RETRIEVAL_FILE, QuestionIndex
from safeship.models.ngram_router import ANSWER, REFUSE, ROUTER_FILE, Router

ADAPTER = "ngram"
CONFIG_FILE, VOCAB_FILE, WEIGHTS_FILE = "config.json", "vocab.json", "weights.json"
TOKEN_PATTERN = r"\w[\w.@'+/-]*\w|\w|[^\w\s]"
_TOKEN_RE = re.compile(TOKEN_PATTERN)
_NO_SPACE_BEFORE = re.compile(r" ([.,!?;:)\]])")
_NO_SPACE_AFTER = re.compile(r"([(\[]) ")
MODE_TOKENS: dict[str, str] = {ANSWER: "<answer>", REFUSE: "<refuse>"}


def tokenize(text: str, lowercase: bool = False) -> list[str]:
    """Split into words (keeping emails, URLs-ish and hyphenated words whole) and symbols."""
    return _TOKEN_RE.findall(text.lower() if lowercase else text)


def detokenize(tokens: Sequence[str]) -> str:
    text = " ".join(tokens)
    return _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", text))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise AdapterError(f"ngram model file missing: {path}") from error
    except (OSError, json.JSONDecodeError) as error:
        raise AdapterError(f"ngram model file {path} is not readable JSON: {error}") from error


class NgramGenerator:
    """A loaded n-gram model; implements :class:`safeship.models.base.Generator`."""

    def __init__(
        self, name: str, lm: NgramLM, tokens: list[str], lowercase: bool, config: dict[str, Any]
    ) -> None:
        self.name = name
        self.lm = lm
        self.tokens = tokens
        self.ids = {token: i for i, token in enumerate(tokens)}
        self.lowercase = lowercase
        self.config = config
        self.router: Router | None = None
        self.mode_ids: dict[str, int] = {}
        self.questions: QuestionIndex | None = None

    @classmethod
    def load(cls, path: Path) -> NgramGenerator:
        """Load a model folder written by ``safeship.demo.train``."""
        path = Path(path)
        if not path.is_dir():
            raise AdapterError(f"ngram model folder not found: {path}")
        config = _read_json(path / CONFIG_FILE)
        vocab = _read_json(path / VOCAB_FILE)
        weights = _read_json(path / WEIGHTS_FILE)
        if not isinstance(config, dict) or config.get("adapter") != ADAPTER:
            raise AdapterError(f"{path / CONFIG_FILE}: 'adapter' must be '{ADAPTER}'")
        try:
            order = int(config["order"])
            discount = float(config["discount"])
            tokens = [str(t) for t in vocab["tokens"]]
            lowercase = bool(vocab.get("lowercase", False))
            rows = weights["ngrams"]
            if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
                raise ValueError(f"the vocabulary must start with {list(SPECIALS)}")
            if int(weights.get("order", order)) != order:
                raise ValueError("weights.json and config.json disagree on the order")
            lm = NgramLM(order, len(tokens), rows, discount)
            router, mode_ids = cls._load_router(path, config, tokens)
            questions = cls._load_questions(path, config)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise AdapterError(f"ngram model at {path} is malformed: {error}") from error
        model = cls(str(config.get("name", path.name)), lm, tokens, lowercase, config)
        model.router, model.mode_ids = router, mode_ids
        model.questions = questions
        return model

    @staticmethod
    def _load_questions(path: Path, config: dict[str, Any]) -> QuestionIndex | None:
        spec = config.get("retrieval")
        if not spec:
            return None
        if not isinstance(spec, dict):
            raise ValueError("config.json 'retrieval' must be an object")
        index = QuestionIndex.from_json(_read_json(path / str(spec.get("file", RETRIEVAL_FILE))))
        if "min_similarity" in spec:
            index.min_similarity = float(spec["min_similarity"])
        return index

    @staticmethod
    def _load_router(
        path: Path, config: dict[str, Any], tokens: list[str]
    ) -> tuple[Router | None, dict[str, int]]:
        spec = config.get("router")
        if not spec:
            return None, {}
        if not isinstance(spec, dict):
            raise ValueError("config.json 'router' must be an object")
        router = Router.from_json(_read_json(path / str(spec.get("file", ROUTER_FILE))))
        if "threshold" in spec:
            router = Router(router.weights, router.bias, float(spec["threshold"]))
        mode_ids = {mode: tokens.index(token) for mode, token in MODE_TOKENS.items()}
        return router, mode_ids

    # -- encoding -------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        return [self.ids.get(t, UNK_ID) for t in tokenize(text, self.lowercase)]

    def route(self, prompt: str) -> tuple[str, float] | None:
        """The router's mode for ``prompt`` and its P(refuse); None without a router."""
        if self.router is None:
            return None
        p = self.router.probability(prompt)
        return (REFUSE if p >= self.router.threshold else ANSWER), p

    def _context(self, prompt: str | None, system_prompt: str | None = None) -> list[int]:
        history = [BOS_ID] * (self.lm.order - 1)
        if system_prompt:
            history += self.encode(system_prompt)
        if prompt is not None:
            nearest = self.questions.nearest(prompt) if self.questions is not None else None
            history += [*self.encode(nearest[0] if nearest else prompt), SEP_ID]
            routed = self.route(prompt)
            if routed is not None:
                history.append(self.mode_ids[routed[0]])
        return history

    # -- scoring --------------------------------------------------------------------
    def token_logprobs(self, text: str, prompt: str | None = None) -> list[float]:
        """Natural-log probability of each token of ``text`` and the closing ``</s>``.

        With ``prompt``, ``text`` is scored as the response to it (under the router's mode
        for ``prompt`` when the model has a router); otherwise from the start.
        """
        return self.lm.logprobs(self._context(prompt), [*self.encode(text), EOS_ID])

    def perplexity(self, texts: Sequence[str], prompts: Sequence[str] | None = None) -> float:
        """Perplexity over all tokens of ``texts`` (as responses to ``prompts`` if given)."""
        if prompts is not None and len(prompts) != len(texts):
            raise InputError(f"{len(texts)} texts but {len(prompts)} prompts")
        total, count = 0.0, 0
        for i, text in enumerate(texts):
            logprobs = self.token_logprobs(text, prompts[i] if prompts is not None else None)
            total += sum(logprobs)
            count += len(logprobs)
        if count == 0:
            raise InputError("perplexity needs at least one text")
        return math.exp(-total / count)

    # -- generation -----------------------------------------------------------------
    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        if request.max_new_tokens < 1:
            raise InputError(f"max_new_tokens must be at least 1, got {request.max_new_tokens}")
        if math.isnan(request.temperature) or request.temperature < 0:
            raise InputError(f"temperature must be >= 0, got {request.temperature}")
        return [self._generate_one(i, prompt, request) for i, prompt in enumerate(prompts)]

    def _generate_one(self, index: int, prompt: str, request: GenerationRequest) -> Generation:
        started = time.perf_counter()
        try:
            if not isinstance(prompt, str):
                raise InputError(f"prompt must be a string, got {type(prompt).__name__}")
            seed = request.seed
            rng = random.Random(f"{seed}:{index}:{prompt}") if seed is not None else random.Random()
            history = self._context(prompt, request.system_prompt)
            prompt_tokens = len(history) - (self.lm.order - 1)
            stops = {EOS_ID, SEP_ID, BOS_ID, *self.mode_ids.values()}
            out: list[str] = []
            generated = 0
            while generated < request.max_new_tokens:
                if request.temperature == 0:
                    word = self.lm.greedy(history)
                else:
                    word = self.lm.sample(history, rng, request.temperature)
                if word in stops:
                    break
                generated += 1
                history.append(word)
                if word != UNK_ID:
                    out.append(self.tokens[word])
        except Exception as error:  # one prompt's failure never stops the batch
            return Generation(
                prompt=str(prompt),
                text="",
                prompt_tokens=0,
                completion_tokens=0,
                latency_s=time.perf_counter() - started,
                error=f"{type(error).__name__}: {error}",
            )
        return Generation(
            prompt=prompt,
            text=detokenize(out),
            prompt_tokens=prompt_tokens,
            completion_tokens=generated,
            latency_s=time.perf_counter() - started,
        )

    def close(self) -> None:
        """Nothing to release: the model lives in memory."""


def load(path: Path) -> NgramGenerator:
    return NgramGenerator.load(path)
