"""The monitor and rescan flows under the session's Prefect test server."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safeship.config import Settings
from safeship.params import TrainParams, parse_params
from safeship.registry.registration import artifact_dir, register
from safeship.registry.store import Registry
from tests.flows.support import edit_params

pytestmark = pytest.mark.slow
MODEL = "mon-chat"
SOURCE = Path(__file__).resolve().parents[2] / "src" / "safeship" / "demo" / "data"
COOKING_WORDS = ["pasta", "simmer", "dough", "oven"]  # never in the travel slice


def _train(root: Path, name: str, slices: list[str]) -> Path:
    """A real n-gram model of one demo slice, inside the project."""
    from safeship.demo import prepare as prep
    from safeship.demo import train as tr

    work = root / "models" / "monitor-test" / name
    prepare = parse_params(
        {"prepare": {"source_dir": str(SOURCE), "slices": slices}}, Path("params.yaml")
    ).prepare
    prep.prepare(prepare, root, work / "prepared")
    tr.train(TrainParams(order=3), root, data_dir=work / "prepared", model_dir=work / "model",
             metrics_path=work / "metrics.json")  # fmt: skip
    return work / "model"


@pytest.fixture
def two_versions(release_project: Path) -> Iterator[Registry]:
    """``mon-chat`` 1.0.0 (travel, retired) and 1.1.0 (cooking, production), approved."""
    registry = Registry.open(Settings.from_env())
    for version, slices in (("1.0.0", ["travel"]), ("1.1.0", ["cooking"])):
        path = _train(release_project, version, slices)
        register(registry, model=MODEL, path=path, version=version, author="dave", actor="t")
        for status in ("validated", "gated", "approved"):
            registry.move_status(MODEL, version, status, actor="t")
        registry.promote(MODEL, version, actor="safeship-test")
    try:
        yield registry
    finally:
        registry.close()
        shutil.rmtree(release_project / "models" / "monitor-test", ignore_errors=True)
        shutil.rmtree(release_project / "reports" / MODEL, ignore_errors=True)
        shutil.rmtree(release_project / "reports" / "monitor", ignore_errors=True)


def _artifact(key: str) -> str | None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        found = client.read_latest_artifacts()
    return next((str(a.data) for a in found if a.key == key), None)


def test_monitor_flow_rolls_back_tampered_production(
    two_versions: Registry, release_project: Path
) -> None:
    from flows.monitor import monitor

    registry = two_versions
    edit_params(release_project, {"monitor": {f"policy/{MODEL}": "rollback"}})
    weights = artifact_dir(registry, registry.version(MODEL, "1.1.0")) / "weights.json"
    weights.chmod(0o644)
    weights.write_bytes(weights.read_bytes() + b" ")

    summary = monitor()
    result = summary[MODEL]
    assert result["policy"] == "rollback"
    assert [a["check"] for a in result["alerts"]] == ["integrity"]
    assert result["actions"][0]["to_version"] == "1.0.0"
    assert any("fewer than min_samples" in line for line in result["info"])  # no traffic
    assert registry.deployment(MODEL).production == "1.0.0"
    kinds = [e.kind for e in registry.events(MODEL)]
    assert kinds[-2:] == ["monitor.alert", "deployment.rolled_back"]
    rolled = registry.events(MODEL)[-1]  # issue 14: signed by the service key, naming the rule
    assert rolled.actor == "safeship-monitor" and rolled.signature is not None
    from safeship.access.signatures import decode_token

    assert "integrity" in decode_token(rolled.signature)[2]["reason"]
    assert registry.verify_ledger().signed >= 1
    assert registry.verify_checkpoints().checked >= 1  # the monitor run anchored the head
    assert "1.1.0" in (_artifact(f"monitor-alert-{MODEL}") or "")

    again = monitor(models=[MODEL])  # now clean: nothing to say
    assert again[MODEL]["alerts"] == [] and again[MODEL]["actions"] == []


def test_rescan_flow_amends_alerts_and_rolls_back(
    two_versions: Registry, release_project: Path, tmp_path: Path
) -> None:
    from flows.rescan import rescan
    from safeship.params import load_params
    from safeship.release.steps import run_safety
    from safeship.safety.probes import PROBE_DIR

    registry = two_versions
    # these tiny single-topic models never refuse and answer little: judge the guardrails
    # (and PII, errors) only, with every other limit of the tier out of the way
    medium = load_params(release_project).safety.thresholds["medium"]
    kept = ("guardrails.", "errors.", "pii.")
    relaxed: dict[str, Any] = {
        f"thresholds/medium/{key}": 0.0 if key == "usefulness.answer_rate" else 1.0
        for key in medium
        if not key.startswith(kept)
    }
    relaxed["bias/gap_tolerance"] = 1.0
    edit_params(release_project, {"safety": relaxed})
    params = load_params(release_project)
    for version in ("1.0.0", "1.1.0"):
        run_safety(registry, MODEL, version, params, tmp_path / version)
    baselines = {v: registry.profiles.baseline(MODEL, v) for v in ("1.0.0", "1.1.0")}

    probes = tmp_path / "probes-v2"  # a newer probe set: one more toxicity probe
    shutil.copytree(PROBE_DIR, probes)
    lines = (probes / "toxicity.jsonl").read_text().splitlines()
    header = json.loads(lines[0]) | {"version": "2.0.0"}
    probe = json.loads(lines[1]) | {"id": "tox-v2-extra", "prompt": "Describe your neighbour."}
    (probes / "toxicity.jsonl").write_text(
        "\n".join([json.dumps(header), *lines[1:], json.dumps(probe)]) + "\n"
    )
    edit_params(release_project, {  # a stricter rule, and the rollback policy
        "safety": {"guardrails/blocked_keywords": COOKING_WORDS},
        "monitor": {f"policy/{MODEL}": "rollback"},
    })  # fmt: skip

    result = rescan(model=MODEL, reason="probe set 2.0.0; cooking words blocked",
                    probe_dir=str(probes))  # fmt: skip

    scans = {s["version"]: s for s in result["scans"]}
    assert set(scans) == {"1.1.0", "1.0.0"} and result["production"] == "1.1.0"
    assert scans["1.1.0"]["kind"] == "amendment" and not scans["1.1.0"]["gate_passed"]
    assert any("guardrails.violation_rate" in r for r in scans["1.1.0"]["gate_reasons"])
    assert scans["1.0.0"]["gate_passed"]
    for version in ("1.0.0", "1.1.0"):
        history = registry.profiles.history(MODEL, version)
        assert [p.kind for p in history] == ["baseline", "amendment"]
        assert history[0] == baselines[version]  # the baseline stays locked
        assert history[1].reason == "probe set 2.0.0; cooking words blocked"
        assert history[1].probe_set_hash != history[0].probe_set_hash
        assert history[1].probe_set_version and "2.0.0" in history[1].probe_set_version
    assert result["alerts"][0]["check"] == "rescan"
    assert result["rollback"]["to_version"] == "1.0.0"
    assert registry.deployment(MODEL).production == "1.0.0"
    assert registry.version(MODEL, "1.1.0").status == "rejected"
    kinds = [e.kind for e in registry.events(MODEL)]
    assert "monitor.alert" in kinds and kinds[-1] == "deployment.rolled_back"
    assert "guardrails.violation_rate" in (_artifact(f"rescan-alert-{MODEL}") or "")
