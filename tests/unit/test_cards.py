"""Model cards describe the version from its own metadata, never the demo's."""

from __future__ import annotations

from pathlib import Path

from safeship.release.cards import CAVEATS, NOT_STATED, own_card


def test_card_text_comes_from_the_versions_config() -> None:
    lineage = {
        "config": {
            "adapter": "openai",
            "card": {"intended_use": "Support answers", "limitations": ["English only"]},
        }
    }
    assert own_card(lineage) == {"intended_use": "Support answers", "limitations": ["English only"]}


def test_a_version_without_card_metadata_says_so() -> None:
    assert own_card({"config": {"adapter": "transformers"}}) == {}
    assert own_card({}) == {}
    assert "config.json" in NOT_STATED
    assert not any("n-gram" in caveat for caveat in CAVEATS)


def test_the_demo_model_carries_its_own_card() -> None:
    from safeship.demo.train import MODEL_CARD

    assert "demonstration" in str(MODEL_CARD["intended_use"])
    assert any("n-gram" in item for item in MODEL_CARD["limitations"])


def test_held_out_data_is_named_by_the_version_not_guessed(tmp_path: Path) -> None:
    from safeship.release.steps import data_splits

    named = {"config": {"data": {"train": ["d/a.jsonl"], "heldout": ["d/b.jsonl"]}}}
    assert data_splits(tmp_path, named) == ([tmp_path / "d/a.jsonl"], [tmp_path / "d/b.jsonl"])
    (tmp_path / "d").mkdir()
    for name in ("corpus.jsonl", "heldout.jsonl"):
        (tmp_path / "d" / name).write_text("{}\n")
    unnamed = {"dvc_stage": {"deps": [{"path": "d", "md5": "x"}]}}
    training, heldout = data_splits(tmp_path, unnamed)
    assert heldout == [] and {p.name for p in training} == {"corpus.jsonl", "heldout.jsonl"}


def test_data_splits_tell_unknown_from_declared_none(tmp_path: Path) -> None:
    from safeship.release.steps import data_splits

    declared = {"config": {"data": {"train": [], "heldout": ["d/b.jsonl"]}}}
    assert data_splits(tmp_path, declared) == ([], [tmp_path / "d/b.jsonl"])
    heldout_only = {"config": {"data": {"heldout": ["d/b.jsonl"]}}}
    assert data_splits(tmp_path, heldout_only)[0] is None
    assert data_splits(tmp_path, {"config": {}})[0] is None
