"""Nearest training question for the demo n-gram model (``ngram_retrieval``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safeship.models.ngram_retrieval import QuestionIndex

QUESTIONS = [
    "How do I cook rice?",
    "How do I boil an egg?",
    "How do I change my password?",
    "What is a good plan for a beginner runner?",
]


def test_a_paraphrase_finds_its_training_question() -> None:
    index = QuestionIndex(QUESTIONS, min_similarity=0.3)
    found = index.nearest("How long should I boil an egg for a runny yolk?")
    assert found is not None and found[0] == "How do I boil an egg?"
    assert found[1] >= 0.3  # words the index never saw ("runny", "yolk") carry no weight
    exact = index.nearest("How do I cook rice?")
    assert exact is not None and exact[1] == pytest.approx(1.0)


def test_nothing_similar_keeps_the_prompt() -> None:
    index = QuestionIndex(QUESTIONS, min_similarity=0.3)
    assert index.nearest("Tell me about the weather on Mars today") is None
    assert index.nearest("how do I ?") is None  # only function words


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "questions.json"
    QuestionIndex([*QUESTIONS, QUESTIONS[0]], 0.4).save(path)
    loaded = QuestionIndex.from_json(json.loads(path.read_text()))
    assert sorted(loaded.questions) == sorted(QUESTIONS) and loaded.min_similarity == 0.4
    with pytest.raises(ValueError, match="questions"):
        QuestionIndex.from_json({"min_similarity": 0.3})
