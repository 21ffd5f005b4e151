"""Probe files: the bundled sets load; malformed lines name file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safeship.errors import ConfigError
from safeship.params import parse_params
from safeship.safety.probes import PROBE_CATEGORIES, load_probe_set, load_probes

HEADER = {"header": True, "set": "pii", "version": "9.9.9"}
GOOD = {"id": "pii-1", "category": "pii", "prompt": "Hello", "failure": "PII in output"}


def write(path: Path, *lines: object) -> Path:
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
        encoding="utf-8",
    )
    return path


def test_bundled_probe_sets_load() -> None:
    suite = load_probes()
    assert set(suite.sets) == set(PROBE_CATEGORIES)
    for name, probe_set in suite.sets.items():
        assert probe_set.version and len(probe_set.sha256) == 64
        assert all(p.category == name and p.failure for p in probe_set.probes)
    assert len(suite.sets["toxicity"]) >= 50
    assert "{canary}" in suite.sets["injection"].header["system_prompt"]
    axes = {p.field("axis") for p in suite.sets["bias"].probes}
    assert axes == {"gender", "ethnicity", "religion", "age", "disability"} | {
        "sexual_orientation",
        "gender_identity",
        "nationality",
        "immigration_status",
    }
    described = suite.describe()
    assert (
        described["sha256"] == described["hash"] == suite.sha256
        and described["sets"]["pii"]["probes"] >= 30
    )


def test_hash_changes_with_content(tmp_path: Path) -> None:
    first = load_probe_set(write(tmp_path / "pii.jsonl", HEADER, GOOD))
    second = load_probe_set(write(tmp_path / "pii.jsonl", HEADER, {**GOOD, "prompt": "Hi"}))
    assert first.sha256 != second.sha256
    assert first.version == "9.9.9"


@pytest.mark.parametrize(
    ("lines", "line_no", "words"),
    [
        ((HEADER, GOOD, "{not json"), 3, "not valid JSON"),
        ((HEADER, {**GOOD, "prompt": ""}, GOOD), 2, "field 'prompt'"),
        ((HEADER, {k: v for k, v in GOOD.items() if k != "failure"}), 2, "field 'failure'"),
        ((GOOD,), 1, "header"),
        ((HEADER, GOOD, GOOD), 3, "duplicate probe id"),
        ((HEADER, {**GOOD, "category": "toxicity"}), 2, "category"),
        ((HEADER, GOOD, "[1, 2]"), 3, "JSON object"),
        (({"header": True}, GOOD), 1, "version"),
    ],
)
def test_malformed_lines_name_file_and_line(
    tmp_path: Path, lines: tuple[object, ...], line_no: int, words: str
) -> None:
    path = write(tmp_path / "pii.jsonl", *lines)
    with pytest.raises(ConfigError) as info:
        load_probe_set(path)
    assert f"{path}:{line_no}:" in str(info.value)
    assert words in str(info.value)


def test_bias_probe_needs_groups_and_template(tmp_path: Path) -> None:
    header = {"header": True, "set": "bias", "version": "1"}
    probe = {
        "id": "b1",
        "category": "bias",
        "prompt": "The {group} is",
        "failure": "gap",
        "axis": "age",
        "groups": ["young"],
    }
    with pytest.raises(ConfigError, match=r"bias\.jsonl:2: .*groups"):
        load_probe_set(write(tmp_path / "bias.jsonl", header, probe))
    probe = {**probe, "groups": ["young", "old"], "template": "no placeholder"}
    with pytest.raises(ConfigError, match=r"bias\.jsonl:2: .*\{group\}"):
        load_probe_set(write(tmp_path / "bias.jsonl", header, probe))


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="empty probe file"):
        load_probe_set(write(tmp_path / "pii.jsonl", ""))
    with pytest.raises(ConfigError, match="no probes"):
        load_probe_set(write(tmp_path / "pii.jsonl", HEADER))


@pytest.mark.parametrize(
    ("safety", "key"),
    [
        ({"k": 0}, "safety.k"),
        ({"bias": {"alpha": 0.9}}, "safety.bias.alpha"),
        ({"guardrails": {"max_output_chars": 0}}, "safety.guardrails.max_output_chars"),
        ({"max_error_rate": 1.5}, "safety.max_error_rate"),
        ({"thresholds": {"low": {"toxicity.toxicity_probability": -1}}}, "safety.thresholds"),
        ({"thresholds": {"extreme": {}}}, "safety.thresholds"),
        ({"thresholds": {"low": {"toxicity.nonsense": 0.1}}}, "safety.thresholds"),
        ({"max_regression": {"nope": 0.1}}, "safety.max_regression"),
        ({"unknown_key": 1}, "safety.unknown_key"),
        ({"harassment_score": 1.5}, "safety.harassment_score"),
        ({"judge": {"base_url": "ftp://guard", "model": "g"}}, "safety.judge.base_url"),
        ({"judge": {"base_url": "http://127.0.0.1:9/v1"}}, "safety.judge.model"),
        (
            {"judge": {"base_url": "http://h:1", "model": "g", "detector": "x"}},
            "safety.judge.detector",
        ),
        ({"thresholds": {"low": {"pii.all_prompt_rate": 0.1}}}, "safety.thresholds"),
    ],
)
def test_safety_params_out_of_range_names_key(safety: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params({"safety": safety}, Path("params.yaml"))
    assert f"key '{key}" in str(info.value)


def test_project_params_yaml_safety_section_is_valid() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    params = parse_params(yaml.safe_load((root / "params.yaml").read_text()), root / "params.yaml")
    assert params.safety.thresholds["high"]["pii.extractions"] == 0
    assert params.safety.k >= 1
