"""``dvc repro`` of the demo pipeline (prepare -> validate -> train) in a fresh repo copy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import make_pipeline_copy, repro


@pytest.mark.slow
def test_dvc_repro_records_every_stage(tmp_path: Path) -> None:
    env = make_pipeline_copy(tmp_path)
    done = repro(tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr

    lock = yaml.safe_load((tmp_path / "dvc.lock").read_text())
    stages = lock["stages"]
    assert set(stages) == {"prepare", "validate", "train"}
    outs = {o["path"]: o for stage in stages.values() for o in stage["outs"]}
    for path in (
        "data/prepared",
        "models/demo-chat",
        "metrics/train.json",
        "reports/validation/corpus.json",
        "reports/validation/corpus.html",
    ):
        assert outs[path]["md5"], path
    assert (
        outs["data/prepared"]["nfiles"] == 2 and outs["models/demo-chat"]["nfiles"] == 5
    )  # config, vocab, weights, router, questions (nearest-question retrieval)
    assert stages["prepare"]["params"]["params.yaml"]["prepare.unfiltered_slice"] is False
    assert stages["train"]["params"]["params.yaml"]["train.order"] >= 2
    train_deps = {d["path"] for d in stages["train"]["deps"]}
    assert {
        "data/prepared",
        "reports/validation/corpus.json",
        "src/safeship/models/ngram.py",
    } <= train_deps

    report = json.loads((tmp_path / "reports/validation/corpus.json").read_text())
    assert report["success"] is True and report["timings"]["import_gx_s"] > 0
    metrics = json.loads((tmp_path / "metrics/train.json").read_text())
    assert metrics["heldout_perplexity"] < metrics["unigram_perplexity"]
    config = json.loads((tmp_path / "models/demo-chat/config.json").read_text())
    assert config["adapter"] == "ngram"

    status = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(status.stdout) == {}  # everything recorded, nothing stale


@pytest.mark.slow
def test_failing_validation_stops_the_pipeline(tmp_path: Path) -> None:
    env = make_pipeline_copy(tmp_path)
    params = tmp_path / "params.yaml"
    params.write_text(
        params.read_text().replace("unfiltered_slice: false", "unfiltered_slice: true")
    )
    done = repro(tmp_path, env)
    assert done.returncode != 0
    assert "response_no_pii_email" in done.stdout + done.stderr
    assert not (tmp_path / "models/demo-chat").exists()
