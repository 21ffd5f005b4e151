"""The demo pipeline's prepare stage: determinism, slices, params errors, bad sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safeship.demo import prepare as prep
from safeship.errors import ConfigError, InputError
from safeship.params import PrepareParams, parse_params

ROOT = Path(__file__).resolve().parents[2]


def _params(**overrides: object) -> PrepareParams:
    data = {"source_dir": str(ROOT / "src/safeship/demo/data"), **overrides}
    return parse_params({"prepare": data}, Path("params.yaml")).prepare


def test_prepare_is_deterministic(tmp_path: Path) -> None:
    first = prep.prepare(_params(), ROOT, tmp_path / "a")
    second = prep.prepare(_params(), ROOT, tmp_path / "b")
    for name in (prep.CORPUS_FILE, prep.HELDOUT_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first.corpus_records == second.corpus_records > 2000
    assert 0 < first.heldout_records < first.corpus_records


def test_records_have_the_schema_and_unique_ids(tmp_path: Path) -> None:
    result = prep.prepare(_params(), ROOT, tmp_path)
    corpus = prep.read_jsonl(result.corpus_path)
    heldout = prep.read_jsonl(result.heldout_path)
    assert all(list(r) == list(prep.FIELDS) for r in corpus + heldout)
    ids = [r["id"] for r in corpus + heldout]
    assert len(ids) == len(set(ids))
    assert {r["source"] for r in corpus} == set(_params().slices)
    assert not any(r["source"] == prep.UNFILTERED_SLICE for r in corpus)


def test_seed_changes_the_split(tmp_path: Path) -> None:
    prep.prepare(_params(seed=1), ROOT, tmp_path / "a")
    prep.prepare(_params(seed=2), ROOT, tmp_path / "b")
    a = (tmp_path / "a" / prep.HELDOUT_FILE).read_bytes()
    assert a != (tmp_path / "b" / prep.HELDOUT_FILE).read_bytes()


def test_unfiltered_slice_adds_the_scrape(tmp_path: Path) -> None:
    result = prep.prepare(_params(unfiltered_slice=True, slices=["cooking"]), ROOT, tmp_path)
    assert set(result.per_source) == {"cooking", prep.UNFILTERED_SLICE}
    texts = [r["response"] for r in prep.read_jsonl(result.corpus_path)]
    assert any("jane.doe@example.com" in t for t in texts)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ({"slices": ["cooking", "astrology"]}, "prepare.slices.1", "astrology"),
        ({"heldout_fraction": 0.7}, "prepare.heldout_fraction", "0.7"),
        ({"heldout_fraction": 0}, "prepare.heldout_fraction", "0"),
        ({"seed": -1}, "prepare.seed", "-1"),
        ({"unfiltered_slice": "maybe"}, "prepare.unfiltered_slice", "maybe"),
        ({"shuffle": True}, "prepare.shuffle", "True"),
    ],
)
def test_bad_params_name_key_and_value(section: dict[str, object], key: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_params({"prepare": section}, Path("params.yaml"))
    assert key in str(caught.value)
    assert value in str(caught.value)


def test_duplicate_slice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="prepare.slices"):
        prep.prepare(_params(slices=["cooking", "cooking"]), ROOT, tmp_path)


def test_missing_source_dir_names_the_key(tmp_path: Path) -> None:
    params = _params(source_dir=str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="prepare.source_dir"):
        prep.prepare(params, ROOT, tmp_path / "out")


def test_missing_source_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "cooking.jsonl").write_text(
        json.dumps({"topic": "cooking", "prompt": "Q?", "response": "A."}) + "\n"
    )
    params = _params(source_dir=str(tmp_path), slices=["cooking", "travel"])
    with pytest.raises(InputError) as caught:
        prep.prepare(params, ROOT, tmp_path / "out")
    assert str(tmp_path / "travel.jsonl") in str(caught.value)
    assert not (tmp_path / "out").exists()  # a refused run writes nothing


def test_empty_source_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "cooking.jsonl").write_text("\n\n")
    params = _params(source_dir=str(tmp_path), slices=["cooking"])
    with pytest.raises(InputError, match="empty") as caught:
        prep.prepare(params, ROOT, tmp_path / "out")
    assert str(tmp_path / "cooking.jsonl") in str(caught.value)


def test_malformed_source_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "cooking.jsonl").write_text('{"prompt": "Q?", "response": "A."}\n{oops\n')
    params = _params(source_dir=str(tmp_path), slices=["cooking"])
    with pytest.raises(InputError, match=r"cooking\.jsonl:2"):
        prep.prepare(params, ROOT, tmp_path / "out")


def test_main_reports_errors_and_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "params.yaml").write_text("prepare:\n  slices: [astrology]\n")
    monkeypatch.chdir(tmp_path)
    assert prep.main() == 2
    err = capsys.readouterr().err
    assert "prepare.slices.0" in err and "astrology" in err


def test_main_writes_the_prepared_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = ROOT / "src/safeship/demo/data"
    (tmp_path / "params.yaml").write_text(f"prepare:\n  source_dir: {source}\n  slices: [travel]\n")
    monkeypatch.chdir(tmp_path)
    assert prep.main() == 0
    assert (tmp_path / "data/prepared/corpus.jsonl").stat().st_size > 0
    assert (tmp_path / "data/prepared/heldout.jsonl").stat().st_size > 0
