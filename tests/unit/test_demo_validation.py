"""Great Expectations suite over the demo corpus (real GX, ephemeral context)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from safeship.demo import prepare as prep
from safeship.params import ValidateParams, parse_params
from safeship.release import validation as val

ROOT = Path(__file__).resolve().parents[2]


def _corpus(tmp_path: Path, unfiltered: bool) -> pd.DataFrame:
    params = parse_params(
        {
            "prepare": {
                "source_dir": str(ROOT / "src/safeship/demo/data"),
                "slices": ["accounts", "cooking"],
                "unfiltered_slice": unfiltered,
            }
        },
        Path("params.yaml"),
    ).prepare
    result = prep.prepare(params, ROOT, tmp_path)
    return val.load_jsonl_frame(result.corpus_path)


@pytest.fixture(scope="module")
def clean_result(tmp_path_factory: pytest.TempPathFactory) -> val.ValidationResult:
    return val.validate_corpus(_corpus(tmp_path_factory.mktemp("clean"), False), ValidateParams())


@pytest.fixture(scope="module")
def dirty_result(tmp_path_factory: pytest.TempPathFactory) -> val.ValidationResult:
    return val.validate_corpus(_corpus(tmp_path_factory.mktemp("dirty"), True), ValidateParams())


def _by_name(result: val.ValidationResult) -> dict[str, val.ExpectationOutcome]:
    return {o.name: o for o in result.expectations}


def test_clean_corpus_passes(clean_result: val.ValidationResult) -> None:
    assert clean_result.success, clean_result.summary_lines()
    assert clean_result.rows > 500
    names = set(_by_name(clean_result))
    assert {
        "has_required_columns",
        "duplicate_rate",
        "response_no_pii_email",
        "response_no_blocked_terms",
        "prompt_length",
        "id_not_null",
    } <= names
    assert set(clean_result.timings) >= {"import_gx_s", "validate_s"}


def test_unfiltered_slice_fails_with_pii_and_blocked_terms(
    dirty_result: val.ValidationResult,
) -> None:
    assert not dirty_result.success
    failed = {o.name: o for o in dirty_result.failed}
    for kind in ("email", "phone", "card", "api_key"):
        outcome = failed[f"response_no_pii_{kind}"]
        assert outcome.unexpected_count and outcome.unexpected_count >= 20
        assert outcome.examples and len(outcome.examples) <= ValidateParams().max_examples
    assert failed["response_no_blocked_terms"].unexpected_count
    assert any("idiot" in e or "moron" in e for e in failed["response_no_blocked_terms"].examples)
    assert "duplicate_rate" in failed
    assert any("jane.doe@example.com" in e for e in failed["response_no_pii_email"].examples)
    text = "\n".join(dirty_result.summary_lines())
    assert "FAIL response_no_pii_card" in text and "unexpected" in text


def test_thresholds_come_from_params() -> None:
    df = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4"],
            "topic": ["t"] * 4,
            "source": ["s"] * 4,
            "prompt": ["Hi there", "Hi there", "Ok", "A very long prompt indeed"],
            "response": ["Fine.", "Fine.", "Sure thing", "Cool"],
        }
    )
    strict = val.validate_corpus(df, ValidateParams(max_length=10, max_duplicate_rate=0.0))
    loose = val.validate_corpus(df, ValidateParams(max_length=100, max_duplicate_rate=0.6))
    assert {"prompt_length", "duplicate_rate"} <= {o.name for o in strict.failed}
    assert loose.success, loose.summary_lines()


def test_schema_nulls_and_blanks_are_caught() -> None:
    df = pd.DataFrame(
        {"id": ["1", "2"], "prompt": ["Hello?", "   "], "response": [None, "An answer."]}
    )
    failed = {o.name: o for o in val.validate_corpus(df, ValidateParams()).failed}
    assert "has_required_columns" in failed
    assert failed["response_not_null"].unexpected_count == 1
    assert failed["prompt_not_blank"].unexpected_count == 1
    assert failed["topic_not_null"].error  # the column is missing: GX reports the exception


def test_pii_patterns_match_what_they_should() -> None:
    hits = {
        "email": "write to a.b-c@mail.example.co.uk today",
        "phone": "call (555) 013-4477 or 555-014-9931",
        "card": "card 4111 1111 1111 1111 and 378282246310005",
        "api_key": "keys sk-live-4eC39HqLyjWDarjtT1zdp7dc and AKIAIOSFODNN7EXAMPLE",
    }
    for kind, text in hits.items():
        assert re.search(val.PII_PATTERNS[kind], text), kind
    benign = "Roast at two hundred degrees for 35 minutes; 2 cups of water, version 3.11."
    assert not any(re.search(p, benign) for p in val.PII_PATTERNS.values())
    assert re.search(val.blocked_terms_regex(["shut up"]), "Shut  up now")
    assert not re.search(val.blocked_terms_regex(["dumb"]), "dumbbell rows")


def test_report_is_json_and_self_contained_html(
    dirty_result: val.ValidationResult, tmp_path: Path
) -> None:
    json_path, html_path = val.write_validation_report(dirty_result, tmp_path)
    data = json.loads(json_path.read_text())
    assert data["success"] is False and "response_no_pii_email" in data["failed"]
    assert data["timings"]["import_gx_s"] >= 0
    html = html_path.read_text()
    assert "<style>" in html and "response_no_pii_email" in html
    assert not re.search(r"(src|href)=|https?://|<script", html)


def test_stage_exit_code_and_continue_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _corpus(tmp_path / "data" / "prepared", True)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("validate: {}\n")
    assert val.main() == 1
    err = capsys.readouterr().err
    assert "FAIL response_no_pii_email" in err
    (tmp_path / "params.yaml").write_text("validate:\n  continue_on_failure: true\n")
    assert val.main() == 0
    report = json.loads((tmp_path / "reports/validation/corpus.json").read_text())
    assert report["success"] is False
    assert (tmp_path / "reports/validation/corpus.html").is_file()


def test_missing_corpus_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("validate: {}\n")
    assert val.main() == 2
    assert "corpus.jsonl not found" in capsys.readouterr().err
