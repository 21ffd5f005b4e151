"""Word-level n-gram language model with interpolated Kneser-Ney smoothing.

Only the highest-order n-gram counts are stored (``weights.json``); every lower order is
derived on load: raw counts by summing over suffixes (every position is padded with
``order - 1`` start tokens, so each token ends exactly one top-order n-gram), and
Kneser-Ney continuation counts (number of distinct left extensions) for the lower orders,
except for n-grams that begin with ``<s>``, which nothing can precede (raw counts, as
KenLM does). Each level keeps ``max(c - D, 0) / total`` for seen successors and gives the
rest, ``D * types / total``, to the next lower order; the lowest level gives its leftover
mass to a uniform distribution over the vocabulary, so probabilities sum to one and
held-out perplexity is always finite.

Sampling at temperature 1 is exact and hierarchical (walk down the backoff chain); other
temperatures temper the exact distribution: candidates seen after the longer contexts are
scored exactly, and the unigram tail is sampled by rejection from a tempered cumulative.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

UNK, BOS, EOS, SEP = "<unk>", "<s>", "</s>", "<sep>"
SPECIALS: tuple[str, ...] = (UNK, BOS, EOS, SEP)
UNK_ID, BOS_ID, EOS_ID, SEP_ID = 0, 1, 2, 3

Context = tuple[int, ...]
Plan = tuple[list[int], list[float], frozenset[int]]
PLAN_CACHE_SIZE = 200_000


@dataclass(frozen=True)
class Level:
    """Successors of one context: discounted probabilities and the backoff weight."""

    words: list[int]
    cumulative: list[float]  # running sums of the discounted probabilities
    probs: dict[int, float]
    backoff: float  # mass left for the lower order


def _level(counts: dict[int, float], discount: float) -> Level:
    total = sum(counts.values())
    words = sorted(counts)
    probs = {w: max(counts[w] - discount, 0.0) / total for w in words}
    cumulative: list[float] = []
    running = 0.0
    for w in words:
        running += probs[w]
        cumulative.append(running)
    return Level(words, cumulative, probs, 1.0 - running)


class NgramLM:
    """The probability tables built from top-order counts; immutable after construction."""

    def __init__(
        self, order: int, vocab_size: int, ngrams: Iterable[Sequence[int]], discount: float
    ) -> None:
        if order < 2:
            raise ValueError(f"order must be at least 2, got {order}")
        self.order = order
        self.vocab_size = vocab_size
        self.discount = discount
        raw: list[dict[Context, int]] = [defaultdict(int) for _ in range(order + 1)]
        for row in ngrams:
            gram, count = tuple(int(t) for t in row[:order]), int(row[order])
            for k in range(1, order + 1):
                raw[k][gram[order - k :]] += count
        used: list[dict[Context, float]] = [{} for _ in range(order + 1)]
        used[order] = {g: float(c) for g, c in raw[order].items()}
        for k in range(order - 1, 0, -1):
            cont: dict[Context, float] = defaultdict(float)
            for gram in raw[k + 1]:
                cont[gram[1:]] += 1.0
            used[k] = {g: (float(raw[k][g]) if g[0] == BOS_ID else cont[g]) for g in raw[k]}
        # Group by context: tables[k][context of length k-1] -> Level.
        self.tables: list[dict[Context, Level]] = [{} for _ in range(order + 1)]
        for k in range(2, order + 1):
            grouped: dict[Context, dict[int, float]] = defaultdict(dict)
            for gram, value in used[k].items():
                grouped[gram[:-1]][gram[-1]] = value
            self.tables[k] = {ctx: _level(c, discount) for ctx, c in grouped.items()}
        unigram = _level({g[0]: v for g, v in used[1].items()}, discount)
        predictable = vocab_size - 1  # everything but <s>
        floor = unigram.backoff / predictable
        self.base: list[float] = [
            0.0 if w == BOS_ID else unigram.probs.get(w, 0.0) + floor for w in range(vocab_size)
        ]
        self._tempered: dict[float, tuple[list[float], float]] = {}
        self._plans: dict[tuple[Context, float], Plan] = {}
        self._greedy: dict[Context, int] = {}
        self._base_ranked = sorted(range(vocab_size), key=lambda w: (-self.base[w], w))

    # -- probabilities --------------------------------------------------------------
    def _chain(self, history: Sequence[int]) -> tuple[list[Level], list[float], float]:
        """Seen levels for this history (longest first), their weights, and the base weight."""
        levels: list[Level] = []
        weights: list[float] = []
        weight = 1.0
        for k in range(self.order, 1, -1):
            level = self.tables[k].get(tuple(history[len(history) - k + 1 :]))
            if level is not None:
                levels.append(level)
                weights.append(weight)
                weight *= level.backoff
        return levels, weights, weight

    def prob(self, history: Sequence[int], word: int) -> float:
        levels, weights, base_weight = self._chain(history)
        p = base_weight * self.base[word]
        for level, weight in zip(levels, weights, strict=True):
            p += weight * level.probs.get(word, 0.0)
        return p

    def logprobs(self, history: Sequence[int], words: Sequence[int]) -> list[float]:
        """Natural-log probability of each of ``words`` following ``history`` in turn."""
        hist = list(history)
        out: list[float] = []
        for word in words:
            out.append(math.log(self.prob(hist, word)))
            hist.append(word)
        return out

    # -- sampling -------------------------------------------------------------------
    def sample(self, history: Sequence[int], rng: random.Random, temperature: float) -> int:
        if temperature == 1.0:
            return self._sample_exact(history, rng)
        return self._sample_tempered(history, rng, temperature)

    def _sample_exact(self, history: Sequence[int], rng: random.Random) -> int:
        u = rng.random()
        for k in range(self.order, 1, -1):
            level = self.tables[k].get(tuple(history[len(history) - k + 1 :]))
            if level is None:
                continue
            kept = 1.0 - level.backoff
            if u < kept:
                i = bisect_right(level.cumulative, u)
                return level.words[min(i, len(level.words) - 1)]
            u = (u - kept) / level.backoff if level.backoff > 0 else 0.0
        cumulative, total = self._tempered_base(1.0)
        i = bisect_right(cumulative, u * total)
        return min(i, self.vocab_size - 1)

    def _tempered_base(self, temperature: float) -> tuple[list[float], float]:
        cached = self._tempered.get(temperature)
        if cached is None:
            top = max(self.base)
            cumulative: list[float] = []
            running = 0.0
            for p in self.base:
                running += (p / top) ** (1.0 / temperature) if p > 0 else 0.0
                cumulative.append(running)
            cached = (cumulative, running)
            self._tempered[temperature] = cached
        return cached

    def _candidates(self, history: Sequence[int]) -> tuple[dict[int, float], float]:
        """Exact probabilities of words seen after a longer context; base weight."""
        levels, weights, base_weight = self._chain(history)
        scores: dict[int, float] = {}
        for level, weight in zip(levels, weights, strict=True):
            for word, p in level.probs.items():
                scores[word] = scores.get(word, 0.0) + weight * p
        for word in scores:
            scores[word] += base_weight * self.base[word]
        return scores, base_weight

    def greedy(self, history: Sequence[int]) -> int:
        key = tuple(history[len(history) - self.order + 1 :])
        best = self._greedy.get(key)
        if best is None:
            if len(self._greedy) >= PLAN_CACHE_SIZE:
                self._greedy.clear()
            best = self._greedy[key] = self._argmax(history)
        return best

    def _argmax(self, history: Sequence[int]) -> int:
        scores, base_weight = self._candidates(history)
        best_tail = next(w for w in self._base_ranked if w not in scores)
        best, best_p = best_tail, base_weight * self.base[best_tail]
        for word in sorted(scores):
            if scores[word] > best_p:
                best, best_p = word, scores[word]
        return best

    def _sample_tempered(
        self, history: Sequence[int], rng: random.Random, temperature: float
    ) -> int:
        if temperature <= 0.0:
            return self.greedy(history)
        key = (tuple(history[len(history) - self.order + 1 :]), temperature)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= PLAN_CACHE_SIZE:
                self._plans.clear()
            plan = self._plans[key] = self._plan(history, temperature)
        words, cumulative, candidates = plan
        r = rng.random() * cumulative[-1]
        i = bisect_right(cumulative, r)
        if i < len(words):
            return words[i]
        base_cumulative, total = self._tempered_base(temperature)
        for _ in range(64):  # rejection: draw from the tempered base outside the candidates
            word = min(bisect_right(base_cumulative, rng.random() * total), self.vocab_size - 1)
            if word not in candidates:
                return word
        return words[0] if words else EOS_ID

    def _plan(self, history: Sequence[int], temperature: float) -> Plan:
        """Tempered masses of the candidates, then of the tail, as one running sum."""
        scores, base_weight = self._candidates(history)
        _, total = self._tempered_base(temperature)
        top = max(self.base)
        log_tail = math.log(base_weight * top) if base_weight > 0 else -math.inf
        words = sorted(scores)
        logs = [math.log(scores[w]) for w in words]
        shift = max([log_tail, *logs])
        cumulative: list[float] = []
        running = 0.0
        for lp in logs:
            running += math.exp((lp - shift) / temperature)
            cumulative.append(running)
        in_tail = sum((self.base[w] / top) ** (1.0 / temperature) for w in words)
        tail = math.exp((log_tail - shift) / temperature) * max(total - in_tail, 0.0)
        cumulative.append(running + tail)
        return words, cumulative, frozenset(words)
