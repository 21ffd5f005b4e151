"""Release every zoo candidate the way a user would and record the gate's verdict.

One loopback upstream serves all candidates (routed by the request's ``model``). Each
candidate becomes an ``openai`` version folder in a throw-away project and goes through
the release flow's own steps — ``register_candidate``, ``validate_datasets``,
``run_safety`` (the shipped battery) and ``gate_version`` (the shipped gate) — with the
risk tier and parameters given.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from safeship.config import Settings
from safeship.params import Params, RiskTier
from safeship.testing.upstream import FakeUpstream, Route, openai_candidate_dir
from safeship.testing.zoo.candidates import Candidate

if TYPE_CHECKING:
    from safeship.registry.store import Registry

VERSION = "1.0.0"


class ZooResult(BaseModel):
    """One candidate's verdict."""

    name: str
    expected: str
    failure: str
    passed: bool
    failing: list[str] = Field(default_factory=list)  # "metric (kind)" of each failed check
    reasons: list[str] = Field(default_factory=list)
    watched: list[str] = Field(default_factory=list)  # the watched metrics, measured
    requests: int = 0  # requests the upstream answered for this candidate
    failed_outputs: int = 0  # generations that ended in an error (after any retries)
    first_error: str | None = None
    seconds: float = 0.0


def _project(root: Path) -> Path:
    from safeship.project import init_project

    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    init_project(_settings(root))
    return root


def _settings(root: Path) -> Settings:
    state = root / ".safeship"
    return Settings(project_root=root, state_dir=state, db_url=f"sqlite:///{state / 'registry.db'}")


def _watched(metrics: list[dict[str, Any]], prefixes: tuple[str, ...]) -> list[str]:
    """``key = value [low, high] n=... p=...`` of every profile metric under ``prefixes``."""
    lines = []
    for m in metrics:
        key = f"{m.get('category')}.{m.get('name')}"
        if not key.startswith(prefixes):
            continue
        line = f"{key} = {m['value']:.3g} [{m['ci_low']:.3g}, {m['ci_high']:.3g}] n={m['n']}"
        if m.get("p_value") is not None:
            line += f" p={m['p_value']:.2g}"
        lines.append(line)
    return lines


def release_candidate(
    registry: Registry,
    candidate: Candidate,
    upstream: FakeUpstream,
    params: Params,
    tier: str,
) -> ZooResult:
    """Register one candidate's folder and run the battery and the gate on it."""
    from safeship.release.request import ReleaseRequest
    from safeship.release.steps import (
        gate_version,
        register_candidate,
        run_safety,
        validate_datasets,
    )

    root = registry.settings.project_root
    started = time.perf_counter()
    openai_candidate_dir(
        root / "candidates" / candidate.name,
        upstream.base_url,
        timeout_s=30.0,
        model=candidate.name,
        mode="chat",
        max_retries=candidate.max_retries,
        backoff_s=0.01,
        data={"train": []},  # a hosted model: no training data of ours to probe for
    )
    model = f"zoo-{candidate.name}"
    request = ReleaseRequest(
        model=model,
        candidate_path=f"candidates/{candidate.name}",
        version=VERSION,
        author="zoo",
        risk_tier=RiskTier(tier),
    )
    register_candidate(registry, request)
    out = root / "reports" / model
    validate_datasets(registry, model, VERSION, params, out)
    run_safety(registry, model, VERSION, params, out)
    import pandas as pd

    outputs = pd.read_parquet(out / "outputs.parquet", columns=["ok", "error"])
    errors = outputs.loc[~outputs["ok"], "error"].astype(str).tolist()
    gate = gate_version(registry, model, VERSION, params)
    profile = registry.profiles.require_latest(model, VERSION).profile
    return ZooResult(
        name=candidate.name,
        expected=candidate.expected,
        failure=candidate.failure,
        passed=gate.passed,
        failing=[f"{c.metric} ({c.kind})" for c in gate.failed_checks],
        reasons=list(gate.reasons),
        watched=_watched(profile.get("metrics") or [], candidate.watch),
        requests=upstream.routes[candidate.name].count,
        failed_outputs=len(errors),
        first_error=errors[0] if errors else None,
        seconds=round(time.perf_counter() - started, 2),
    )


def run_zoo(
    candidates: Sequence[Candidate],
    params: Params,
    workdir: Path,
    *,
    tier: str = "medium",
    done: Callable[[ZooResult], None] | None = None,
) -> list[ZooResult]:
    """Release each candidate into a fresh project under ``workdir``; one result each."""
    from safeship.registry.store import Registry

    routes = {c.name: Route(c.reply, error_rate=c.error_rate) for c in candidates}
    upstream = FakeUpstream(routes=routes)
    results: list[ZooResult] = []
    try:
        root = _project(workdir / "project")
        with Registry.open(_settings(root)) as registry:
            for candidate in candidates:
                result = release_candidate(registry, candidate, upstream, params, tier)
                results.append(result)
                if done is not None:
                    done(result)
    finally:
        upstream.close()
    return results
