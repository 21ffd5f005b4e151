"""params.yaml is validated once, at the edge: unknown keys are errors that name the allowed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeship.errors import ConfigError
from safeship.params import RiskTier, parse_params


def test_misspelled_params_section_is_refused_with_the_allowed_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_params({"canery": {"enabled": False}}, tmp_path / "params.yaml")
    message = str(caught.value)
    assert "unknown key 'canery'" in message
    assert "canary" in message and "safety" in message


def test_misspelled_nested_params_key_names_the_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_params({"monitor": {"polcy": {}}}, tmp_path / "params.yaml")
    assert "unknown key 'monitor.polcy'" in str(caught.value)
    assert "default_policy" in str(caught.value)


def test_the_projects_own_params_file_is_valid() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    data = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    params = parse_params(data, root / "params.yaml")
    assert set(params.release.tiers) == set(RiskTier)


def test_risk_tiers_are_one_vocabulary() -> None:
    params = parse_params({"release": {"tiers": {"high": {"approvals_required": 3}}}}, Path("p"))
    assert params.release.tiers[RiskTier.HIGH].approvals_required == 3
    assert RiskTier("medium") == "medium"


def test_a_section_given_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    from safeship.params import load_params

    (tmp_path / "params.yaml").write_text(
        "canary:\n  alpha: 0.01\nmonitor: {}\ncanary:\n  alpha: 0.2\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_params(tmp_path)
    assert "duplicate key 'canary'" in str(caught.value) and "line 4" in str(caught.value)
