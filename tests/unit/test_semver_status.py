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
