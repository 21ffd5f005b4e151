"""The request router of the ``ngram`` adapter: refuse or answer, decided from the prompt.

An n-gram model only sees the last few prompt words, so it cannot tell a harmful request
from a harmless one worded alike. The router reads the whole prompt and picks the mode
(``<answer>`` or ``<refuse>``) that the mode-conditioned n-gram is fed after ``<sep>``.

It is an L2-regularised logistic regression over binary, lowercased word unigrams and
bigrams (tokens are ``\\w+`` runs), trained with L-BFGS (scipy) on class-balanced sample
weights, so that ``threshold = 0.5`` is the natural cut despite few ``refuse`` examples.
The weights are saved as JSON (``router.json``: bias plus one weight per feature, rounded
to :data:`DECIMALS` decimals and sorted), so the same data gives a byte-identical file;
prediction is a dictionary lookup per feature and needs neither numpy nor scipy.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KIND = "logistic-regression"
ROUTER_FILE = "router.json"
ANSWER, REFUSE = "answer", "refuse"
LABELS: tuple[str, str] = (ANSWER, REFUSE)
FEATURE_PATTERN = r"\w+"
C = 0.3  # inverse L2 strength (as scikit-learn's ``C``): loss * C + |w|^2 / 2
MAX_ITER = 500
DECIMALS = 6
_FEATURE_RE = re.compile(FEATURE_PATTERN)
# Function words carry no evidence of harm, but the router learned some of them from
# harmful phrasings ("... without getting caught") and then refused prompts about a
# "person without a disability" (a bias gap the battery measured). They are dropped.
STOPWORDS = frozenset({"a", "an", "the", "to", "with", "without"})


def features(text: str) -> list[str]:
    """Distinct lowercased content-word unigrams and bigrams of ``text``, sorted."""
    words = [w for w in _FEATURE_RE.findall(text.lower()) if w not in STOPWORDS]
    grams = set(words)
    grams.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return sorted(grams)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Router:
    """A trained router; ``probability`` is P(refuse | prompt)."""

    weights: dict[str, float]
    bias: float
    threshold: float = 0.5

    def probability(self, text: str) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) for f in features(text))
        return _sigmoid(z)

    def route(self, text: str) -> str:
        """``refuse`` when P(refuse) reaches the threshold, else ``answer``."""
        return REFUSE if self.probability(text) >= self.threshold else ANSWER

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "labels": list(LABELS),
            "features": "lowercased word unigrams+bigrams (binary)",
            "pattern": FEATURE_PATTERN,
            "threshold": self.threshold,
            "bias": self.bias,
            "weights": dict(sorted(self.weights.items())),
        }

    @classmethod
    def from_json(cls, data: Any) -> Router:
        if not isinstance(data, dict) or data.get("kind") != KIND:
            raise ValueError(f"router 'kind' must be '{KIND}'")
        if data.get("pattern", FEATURE_PATTERN) != FEATURE_PATTERN:
            raise ValueError(f"router 'pattern' must be {FEATURE_PATTERN!r}")
        weights = {str(k): float(v) for k, v in dict(data["weights"]).items()}
        threshold = float(data.get("threshold", 0.5))
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"router 'threshold' must be in (0, 1), got {threshold}")
        return cls(weights, float(data["bias"]), threshold)

    def save(self, path: Path) -> None:
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        path.write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Router:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def train_router(
    texts: Sequence[str], labels: Sequence[str], threshold: float = 0.5, c: float = C
) -> Router:
    """Fit the router on ``texts`` labelled ``answer``/``refuse``; deterministic."""
    import numpy as np
    from scipy.optimize import minimize
    from scipy.sparse import csr_matrix

    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    unknown = sorted(set(labels) - set(LABELS))
    if unknown:
        raise ValueError(f"labels must be {list(LABELS)}, got {unknown}")
    y = np.array([1.0 if label == REFUSE else 0.0 for label in labels])
    n_refuse = int(y.sum())
    if n_refuse == 0 or n_refuse == len(y):
        raise ValueError("the router needs both 'answer' and 'refuse' examples")
    rows = [features(text) for text in texts]
    vocab = sorted({f for row in rows for f in row})
    index = {f: i for i, f in enumerate(vocab)}
    indptr: list[int] = [0]
    indices: list[int] = []
    for row in rows:
        indices.extend(index[f] for f in row)
        indptr.append(len(indices))
    x = csr_matrix(
        (np.ones(len(indices)), np.array(indices, dtype=np.int64), np.array(indptr)),
        shape=(len(rows), len(vocab)),
    )
    # Balanced sample weights: each class carries half of the total weight.
    n = len(y)
    sample = np.where(y == 1.0, n / (2.0 * n_refuse), n / (2.0 * (n - n_refuse)))
    sign = 2.0 * y - 1.0

    def loss(params: Any) -> tuple[float, Any]:
        w, b = params[:-1], params[-1]
        margin = sign * (x @ w + b)
        value = c * float(np.sum(sample * np.logaddexp(0.0, -margin))) + 0.5 * float(w @ w)
        coef = -c * sample * sign * np.exp(-np.logaddexp(0.0, margin))  # d loss / d z
        grad = np.empty_like(params)
        grad[:-1] = x.T @ coef + w
        grad[-1] = float(coef.sum())
        return value, grad

    result = minimize(
        loss,
        np.zeros(len(vocab) + 1),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": MAX_ITER},
    )
    params = result.x
    weights = {
        f: round(float(params[i]), DECIMALS)
        for f, i in index.items()
        if round(float(params[i]), DECIMALS) != 0.0
    }
    return Router(weights, round(float(params[-1]), DECIMALS), threshold)
