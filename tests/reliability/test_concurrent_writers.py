"""8 processes promoting, rolling back and registering the same model at once (the real CLI)
on SQLite and PostgreSQL: exactly-once outcomes, one unforked ledger, no raw lock errors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from safeship.registry.store import Registry
from tests.reliability.report import SuiteResult, out_of_time, trials
from tests.reliability.support import (
    Outcome,
    event_count,
    finish,
    invariant_violations,
    random_artifact,
    run,
    start,
)

PROCESSES = 8


def _together(project: Path, env: dict[str, str], commands: list[list[str]]) -> list[Outcome]:
    processes = [start(project, env, *args) for args in commands]
    return [finish(process) for process in processes]


def _round(registry: Registry, env: dict[str, str], n: int, rng: random.Random) -> list[str]:
    """One round: a new version registered by four processes at once while two promote
    the approved one and two roll back. Returns what went wrong."""
    project = registry.settings.project_root
    approved, fresh = f"{n}.1.0", f"{n}.2.0"
    artifact = random_artifact(project / "in" / approved, 2048, rng)
    assert run(project, env, "register", "m", str(artifact), "--version", approved).returncode == 0
    for status in ("validated", "gated", "approved"):
        registry.move_status("m", approved, status, actor="rev", reason="round")
    candidate = random_artifact(project / "in" / fresh, 2048, rng)
    kinds = ("version.registered", "deployment.promoted", "deployment.rolled_back")
    before = {kind: event_count(registry, kind) for kind in kinds}
    commands = (
        [["register", "m", str(candidate), "--version", fresh]] * 4
        + [["promote", "m", approved, "--actor", "ops"]] * 2
        + [["rollback", "m", "--actor", "ops", "--reason", "race"]] * 2
    )
    order = list(range(PROCESSES))
    rng.shuffle(order)
    outcomes = _together(project, env, [commands[i] for i in order])
    by_op: dict[str, list[Outcome]] = {"register": [], "promote": [], "rollback": []}
    for i, outcome in zip(order, outcomes, strict=True):
        by_op[commands[i][0]].append(outcome)
    problems = [f"unclear: {o.stderr.strip()[-300:]}" for o in outcomes if not o.clear]
    problems += [f"exit {o.returncode}" for o in outcomes if o.returncode not in (0, 4, 9)]
    for op, kind in zip(("register", "promote", "rollback"), kinds, strict=True):
        successes = sum(o.returncode == 0 for o in by_op[op])
        added = event_count(registry, kind) - before[kind]
        if added != successes:
            problems.append(f"{op}: {successes} successes but {added} ledger events")
    if sum(o.returncode == 0 for o in by_op["register"]) != 1:
        problems.append("register: not exactly one success for one version")
    if sum(o.returncode == 0 for o in by_op["promote"]) != 1:
        problems.append("promote: not exactly one success for one version")
    return problems + invariant_violations(registry, [approved, fresh])


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_eight_writers_on_one_model(
    db: str, cli_world: tuple[Registry, dict[str, str]], result: SuiteResult
) -> None:
    registry, env = cli_world
    rng = random.Random(f"concurrency-{db}")
    for n in range(1, trials(ci=1, full=5) + 1):
        if out_of_time():
            result.notes.append(f"stopped at the time budget after {result.trials} trials")
            break
        problems = _round(registry, env, n, rng)
        result.trials += 1
        result.invariant_violations += len(problems)
        result.notes += problems[:3]
    assert result.invariant_violations == 0, result.notes
