from __future__ import annotations

import pytest

from safeship.errors import InputError, InvalidTransitionError
from safeship.registry.semver import SemVer, bump_kind, suggest_next
from safeship.registry.status import ALLOWED_MOVES, check_move


@pytest.mark.parametrize("text", ["1.0.0", "0.0.1", "10.20.30", "1.0.0-rc.1", "1.0.0-alpha+b.5"])
def test_valid_semver(text: str) -> None:
    assert str(SemVer.parse(text)) == text


@pytest.mark.parametrize("text", ["1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0-01", "a.b.c", ""])
def test_invalid_semver_names_the_rule(text: str) -> None:
    with pytest.raises(InputError, match="semantic versioning"):
        SemVer.parse(text)


def test_precedence_follows_semver_spec() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0",
    ]
    parsed = [SemVer.parse(v) for v in ordered]
    assert sorted(reversed(parsed), key=SemVer.sort_key) == parsed


def test_bump_kind_and_suggestion() -> None:
    base = SemVer.parse("1.2.3")
    assert bump_kind(base, SemVer.parse("2.0.0")) == "major"
    assert bump_kind(base, SemVer.parse("1.3.0")) == "minor"
    assert bump_kind(base, SemVer.parse("1.2.4")) == "patch"
    assert str(suggest_next(base, "minor")) == "1.3.0"


def test_illegal_move_lists_allowed() -> None:
    with pytest.raises(
        InvalidTransitionError, match="allowed from registered: validated, rejected"
    ):
        check_move("registered", "production", what="m 1.0.0")
    with pytest.raises(InvalidTransitionError, match="final"):
        check_move("rejected", "approved", what="m 1.0.0")


def test_lifecycle_path_is_allowed() -> None:
    path = ["registered", "validated", "gated", "approved", "canary", "production", "retired"]
    for old, new in zip(path, path[1:], strict=False):
        check_move(old, new, what="m")
    assert all(status in ALLOWED_MOVES for status in path)


def _lineage(data: str, order: int, vocab: int, seed: int = 7) -> dict[str, object]:
    return {
        "dvc_stage": {
            "deps": [{"path": "data/prepared", "md5": data}, {"path": "src/train.py", "md5": "c"}],
            "params": {"params.yaml": {"train.order": order, "train.seed": seed}},
        },
        "git": {"commit": "x"},
        "adapter": "ngram",
        "config": {"adapter": "ngram", "order": order, "vocab_size": vocab, "seed": seed},
    }


def test_bump_suggestions_from_lineage() -> None:
    from safeship.lineage.capture import diff_lineage

    files = {"w": "1"}
    base = _lineage("d1", 6, 100)
    assert diff_lineage(base, _lineage("d2", 6, 120), files, {"w": "2"}).suggested_bump == "minor"
    assert diff_lineage(base, _lineage("d1", 4, 100), files, {"w": "2"}).suggested_bump == "major"
    runtime = dict(base, config={**base["config"], "temperature": 0.5})  # type: ignore[dict-item]
    assert diff_lineage(base, runtime, files, files).suggested_bump == "patch"
    assert diff_lineage(base, base, files, files).suggested_bump == "none"
