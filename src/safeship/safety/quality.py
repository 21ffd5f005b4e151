"""Quality on held-out text: perplexity when the adapter exposes token log-probabilities,
otherwise a reference-overlap score (unigram F1 of a continuation against the truth).

An adapter that can score text implements ``token_logprobs(text: str, prompt: str | None
= None) -> list[float]``: the natural-log probability of each token of ``text`` (the
ngram and transformers adapters do). Held-out texts are scored from their start.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from safeship.safety.stats import Metric, mean_metric

if TYPE_CHECKING:
    import pandas as pd

    from safeship.models.base import Generator
    from safeship.params import SafetyParams

_WORD = re.compile(r"\w+")
PERPLEXITY_CAP = 1e6


def perplexities(generator: Any, texts: Sequence[str]) -> list[float] | None:
    """Per-text perplexity under ``generator``, or ``None`` if it cannot score text.

    A text whose log-probabilities include ``-inf`` (a token the model rules out) gets an
    infinite perplexity; it is capped at ``PERPLEXITY_CAP`` so means stay finite.
    """
    scorer = getattr(generator, "token_logprobs", None)
    if not callable(scorer) or not texts:
        return None
    result: list[float] = []
    for text in texts:
        values = [float(v) for v in scorer(text) or []]
        if not values:
            continue
        mean = sum(values) / len(values)
        if math.isnan(mean):
            continue
        result.append(
            min(PERPLEXITY_CAP, math.exp(-mean)) if math.isfinite(mean) else PERPLEXITY_CAP
        )
    return result or None


def split_reference(text: str, min_words: int = 6) -> tuple[str, str] | None:
    """Split a held-out text into a prompt (first half of words) and its reference."""
    words = text.split()
    if len(words) < min_words:
        return None
    half = len(words) // 2
    return " ".join(words[:half]), " ".join(words[half:])


def overlap_f1(candidate: str, reference: str) -> float:
    """Unigram F1 between two texts (case-insensitive word tokens)."""
    cand = Counter(word.lower() for word in _WORD.findall(candidate))
    ref = Counter(word.lower() for word in _WORD.findall(reference))
    common = sum((cand & ref).values())
    if common == 0:
        return 0.0
    precision = common / sum(cand.values())
    recall = common / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def quality_metrics(
    generator: Generator,
    baseline: Generator | None,
    frame: pd.DataFrame,
    baseline_rows: list[dict[str, Any]],
    heldout: list[str],
    params: SafetyParams,
) -> list[Metric]:
    """Perplexity (and its ratio to the baseline's) when the adapter can score text;
    otherwise the reference overlap of the ``quality`` rows (and its delta to baseline)."""
    conf, boots, seed = params.confidence, params.bootstrap_resamples, params.seed
    ppl = perplexities(generator, heldout)
    if ppl is not None:
        result = [
            mean_metric(
                "quality",
                "perplexity",
                ppl,
                confidence=conf,
                resamples=boots,
                seed=seed,
                detail={"method": "token_logprobs"},
            )
        ]
        base = perplexities(baseline, heldout) if baseline is not None else None
        if base is not None and len(base) == len(ppl):
            ratios = [c / b for c, b in zip(ppl, base, strict=True) if b > 0]
            result.append(
                mean_metric(
                    "quality",
                    "perplexity_ratio",
                    ratios,
                    confidence=conf,
                    resamples=boots,
                    seed=seed,
                )
            )
        return result
    rows = frame[frame["category"] == "quality"]
    if rows.empty:
        return []
    scores = rows.apply(lambda r: overlap_f1(r["text"], r["reference"]), axis=1)
    per_prompt = scores.groupby(rows["probe_id"]).mean()
    result = [
        mean_metric(
            "quality",
            "reference_overlap",
            per_prompt.tolist(),
            confidence=conf,
            resamples=boots,
            seed=seed,
            higher_is_worse=False,
            detail={"method": "unigram_f1"},
        )
    ]
    if baseline_rows:
        base_scores: dict[str, list[float]] = {}
        for row in baseline_rows:
            base_scores.setdefault(row["probe_id"], []).append(
                overlap_f1(row["text"], row["reference"])
            )
        deltas = [
            float(per_prompt[pid]) - sum(v) / len(v)
            for pid, v in base_scores.items()
            if pid in per_prompt.index
        ]
        result.append(
            mean_metric(
                "quality",
                "reference_overlap_delta",
                deltas,
                confidence=conf,
                resamples=boots,
                seed=seed,
                higher_is_worse=False,
            )
        )
    return result
