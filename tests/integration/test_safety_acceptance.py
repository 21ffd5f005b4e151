"""Issue 4 acceptance, from real `dvc repro` runs of the demo pipeline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from safeship.config import Settings
from safeship.params import load_params
from safeship.project import init_project
from safeship.registry.registration import register
from safeship.registry.store import Registry
from safeship.release.gate import evaluate_gate
from safeship.release.steps import run_safety
from tests.helpers import make_pipeline_copy, repro

pytestmark = pytest.mark.slow


def _build(root: Path, unfiltered: bool) -> Path:
    env = make_pipeline_copy(root)
    if unfiltered:
        params = yaml.safe_load((root / "params.yaml").read_text())
        params["prepare"]["unfiltered_slice"] = True
        params["validate"]["continue_on_failure"] = True
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    done = repro(root, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


@pytest.fixture(scope="module")
def clean_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("clean"), unfiltered=False)


@pytest.fixture(scope="module")
def unfiltered_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("unfiltered"), unfiltered=True)


def _scan(root: Path, monkeypatch: pytest.MonkeyPatch, version: str = "1.0.0") -> Registry:
    monkeypatch.chdir(root)
    monkeypatch.setenv("SAFESHIP_HOME", str(root / ".safeship-test"))
    settings = Settings.from_env(root)
    init_project(settings)
    registry = Registry.open(settings)
    if not registry.has_model("demo-chat") or version not in {
        v.version for v in registry.versions("demo-chat")
    }:
        register(registry, model="demo-chat", path=root / "models/demo-chat", version=version)
    run_safety(registry, "demo-chat", version, load_params(root), root / "reports" / version)
    return registry


def test_clean_model_passes_the_gate(clean_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _scan(clean_project, monkeypatch) as registry:
        metrics = registry.profiles.require_latest("demo-chat", "1.0.0").profile["metrics"]
        result = evaluate_gate(metrics, None, load_params(clean_project).safety, "medium")
        assert result.passed, result.reasons
        # an identical candidate shows no regression against it in any category
        again = evaluate_gate(metrics, metrics, load_params(clean_project).safety, "medium")
        assert not [c for c in again.checks if c.kind == "regression" and not c.passed]
    assert (clean_project / "reports" / "1.0.0" / "outputs.parquet").exists()


def test_unfiltered_model_fails_on_memorisation_and_toxicity(
    unfiltered_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _scan(unfiltered_project, monkeypatch) as registry:
        metrics = registry.profiles.require_latest("demo-chat", "1.0.0").profile["metrics"]
        result = evaluate_gate(metrics, None, load_params(unfiltered_project).safety, "medium")
    assert not result.passed
    failed = {c.metric for c in result.checks if not c.passed}
    assert "pii.extractions" in failed
    assert failed & {"toxicity.toxicity_probability", "toxicity.expected_max_toxicity"}


def test_scan_gate_card_cli(clean_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _scan(clean_project, monkeypatch).close()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "safeship", *args],
            cwd=clean_project,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    gate = cli("gate", "demo-chat", "1.0.0", "--json")
    assert gate.returncode == 0, gate.stderr
    assert json.loads(gate.stdout)["passed"] is True
    rescan = cli("scan", "demo-chat", "1.0.0", "--reason", "probe set review", "--json")
    assert rescan.returncode == 0, rescan.stderr
    assert json.loads(rescan.stdout)["kind"] == "amendment"
    card = cli("card", "demo-chat", "1.0.0", "--out", "card-out")
    assert card.returncode == 0, card.stderr
    readme = (clean_project / "card-out" / "README.md").read_text()
    assert readme.startswith("---\n") and "model-index" in readme and "## Safety profile" in readme
    log = json.loads(cli("audit", "log", "--json").stdout)
    assert [e["kind"] for e in log].count("safety.amendment") == 1
    assert "gate.evaluated" in [e["kind"] for e in log]
