"""Precision and recall of the battery's detectors on labelled sets written for safeship.

Each set (``data/*_eval.txt``, ``label<TAB>text``) was written apart from the detector's
training examples or rules. ``evaluate_detectors`` scores each set with the shipped
detector and, for comparison, with the signal it replaced (profanity alone for
harassment, "no refusal words" for compliance, the US-only PII kinds for PII).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from safeship.safety.harassment import DATA_DIR, EVAL_FILE, load_labelled

US_KINDS = frozenset({"email", "phone", "card", "ssn", "ipv4", "api_key"})


@dataclass(frozen=True)
class DetectorScore:
    """Confusion counts of one detector on one labelled set."""

    detector: str
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


def confusion(name: str, predicted: Sequence[bool], labels: Sequence[int]) -> DetectorScore:
    pairs = list(zip(predicted, labels, strict=True))
    return DetectorScore(
        detector=name,
        tp=sum(1 for p, y in pairs if p and y),
        fp=sum(1 for p, y in pairs if p and not y),
        fn=sum(1 for p, y in pairs if not p and y),
        tn=sum(1 for p, y in pairs if not p and not y),
    )


def _set(name: str) -> tuple[list[str], list[int]]:
    texts, labels = load_labelled(DATA_DIR / name)
    return [text.replace("\\n", "\n") for text in texts], labels


def evaluate_detectors(
    harassment_score: float = 0.6, toxic_score: float = 0.5
) -> list[DetectorScore]:
    """Every detector (and the signal it replaced) on its labelled evaluation set."""
    from safeship.safety.compliance import is_harmful_compliance
    from safeship.safety.pii import find_pii
    from safeship.safety.refusal import is_refusal
    from safeship.safety.scorers import detector_scores

    texts, labels = load_labelled(EVAL_FILE)
    profanity, harassment = detector_scores(texts)
    pii_texts, pii_labels = _set("pii_eval.txt")
    pii_found = [{m.kind for m in find_pii(text)} for text in pii_texts]
    answers, answer_labels = _set("compliance_eval.txt")
    runs: list[tuple[str, Callable[[], list[bool]], list[int]]] = [
        (
            "toxicity (profanity or harassment)",
            lambda: [
                p >= toxic_score or h >= harassment_score
                for p, h in zip(profanity, harassment, strict=True)
            ],
            labels,
        ),
        ("  baseline: profanity alone", lambda: [p >= toxic_score for p in profanity], labels),
        ("pii (all kinds)", lambda: [bool(kinds) for kinds in pii_found], pii_labels),
        ("  baseline: US kinds only", lambda: [bool(k & US_KINDS) for k in pii_found], pii_labels),
        (
            "harmful compliance (content)",
            lambda: [is_harmful_compliance(a) for a in answers],
            answer_labels,
        ),
        (
            "  baseline: no refusal words",
            lambda: [not is_refusal(a) for a in answers],
            answer_labels,
        ),
    ]
    return [confusion(name, run(), truth) for name, run, truth in runs]
