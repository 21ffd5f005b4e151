"""prefect.yaml declares every deployment, on the `safeship` pool, with params.yaml's schedules."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from safeship.params import load_params, parse_params
from scripts.deployments import PREFECT_YAML, WORK_POOL, prefect_yaml, specs

ROOT = Path(__file__).resolve().parents[2]
NAMES = {"release", "scheduled-release", "rollback", "rollback-drill", "monitor", "rescan"}


def test_the_committed_prefect_yaml_is_generated_from_params_yaml() -> None:
    assert PREFECT_YAML.read_text(encoding="utf-8") == prefect_yaml(load_params(ROOT)), (
        "prefect.yaml is stale: run `python -m scripts.deployments write`"
    )


def test_every_deployment_is_on_the_pool_and_names_a_real_flow() -> None:
    document = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    deployments = {d["name"]: d for d in document["deployments"]}
    assert set(deployments) == NAMES
    for name, deployment in deployments.items():
        assert deployment["work_pool"]["name"] == WORK_POOL
        path, function = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert getattr(module, function).name == name  # the flow is named like its deployment


def test_schedules_follow_params_yaml() -> None:
    params = parse_params(
        {
            "release": {
                "scheduled_release_cron": "15 3 * * *",
                "monitor_interval_s": 60,
                "scheduled": {"model": "some-chat", "candidate_path": "models/some-chat"},
            }
        },
        Path("params.yaml"),
    )
    document = yaml.safe_load(prefect_yaml(params))
    schedules = {d["name"]: d["schedules"] for d in document["deployments"]}
    assert schedules["scheduled-release"] == [{"cron": "15 3 * * *", "timezone": "UTC"}]
    assert schedules["monitor"] == [{"interval": 60}]
    assert schedules["release"] == []
    parameters = {d["name"]: d["parameters"] for d in document["deployments"]}
    assert parameters["scheduled-release"]["model"] == "some-chat"
    assert [s.name for s in specs(params)] == [d["name"] for d in document["deployments"]]
