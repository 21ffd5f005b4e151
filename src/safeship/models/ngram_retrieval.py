"""Nearest training question: how the n-gram model answers a question it never saw.

A word-level n-gram model conditions on the last ``order - 1`` tokens before ``<sep>``,
so a paraphrase ("How long should I boil an egg for a runny yolk?") whose last words the
training data never ended a question with gets an answer to some other question. With
``retrieval`` (``config.json`` ``"retrieval": {"file": "questions.json", "min_similarity"}``)
the model keeps its training questions and, before generating, replaces the prompt by
the most similar one (cosine of IDF-weighted content words, from an inverted index) when
the similarity reaches ``min_similarity``; otherwise the prompt is used as it is. The
request router still sees the original prompt.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RETRIEVAL_FILE = "questions.json"
_WORD = re.compile(r"[^\W\d_]+|\d+")
# function words carry no topic; kept here so the model folder needs no other library
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "into",
        "about",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "done",
        "doing",
        "have",
        "has",
        "had",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "it",
        "its",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "not",
        "no",
        "so",
        "than",
        "then",
        "there",
        "here",
        "up",
        "out",
        "over",
        "any",
        "some",
        "all",
        "more",
        "most",
        "very",
        "just",
        "too",
        "also",
        "get",
        "got",
        "make",
        "please",
        "tell",
        "me",
    ]
)


def _terms(text: str) -> list[str]:
    words = (w.lower() for w in _WORD.findall(text))
    return [w[:6] for w in words if w not in _STOP and len(w) > 1]


class QuestionIndex:
    """IDF-weighted bag-of-words cosine over a fixed list of training questions."""

    def __init__(self, questions: Sequence[str], min_similarity: float) -> None:
        self.questions = list(dict.fromkeys(questions))
        self.min_similarity = min_similarity
        bags = [Counter(_terms(q)) for q in self.questions]
        df: Counter[str] = Counter(t for bag in bags for t in bag)
        n = max(1, len(bags))
        self.idf = {t: math.log((1 + n) / (1 + c)) + 1.0 for t, c in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for index, bag in enumerate(bags):
            weights = {t: c * self.idf[t] for t, c in bag.items()}
            norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
            for term, weight in weights.items():
                self.postings[term].append((index, weight / norm))

    def nearest(self, prompt: str) -> tuple[str, float] | None:
        """The most similar training question and its cosine, or None below the minimum."""
        bag = Counter(t for t in _terms(prompt) if t in self.idf)
        if not bag:
            return None
        weights = {t: c * self.idf[t] for t, c in bag.items()}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        scores: dict[int, float] = defaultdict(float)
        for term, weight in weights.items():
            for index, value in self.postings[term]:
                scores[index] += value * weight / norm
        best = max(scores, key=lambda i: (scores[i], -i))
        if scores[best] < self.min_similarity:
            return None
        return self.questions[best], scores[best]

    def save(self, path: Path) -> None:
        data = {"min_similarity": self.min_similarity, "questions": sorted(self.questions)}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: Any) -> QuestionIndex:
        if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
            raise ValueError("retrieval file needs a 'questions' list")
        return cls([str(q) for q in data["questions"]], float(data.get("min_similarity", 0.5)))
