"""SIGKILL at random moments during register, promote and rollback (the real CLI), on SQLite
and PostgreSQL; after every trial the invariants hold and a retry succeeds or says why."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from safeship.registry.orphans import is_temporary
from safeship.registry.registration import register
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
    stored_files,
)

ARTIFACT_BYTES = 6 * 1024 * 1024
KIND = {"register": "version.registered", "promote": "deployment.promoted",
        "rollback": "deployment.rolled_back"}  # fmt: skip


class Trials:
    def __init__(self, registry: Registry, env: dict[str, str], rng: random.Random) -> None:
        self.registry, self.env, self.rng = registry, env, rng
        self.project = registry.settings.project_root
        self.next_minor = 0
        self.durations = {"register": 3.0, "promote": 1.5, "rollback": 1.5}

    def new_version(self) -> str:
        self.next_minor += 1
        return f"1.{self.next_minor}.0"

    def approved(self) -> str:
        version = self.new_version()
        artifact = random_artifact(self.project / "in" / version, 4096, self.rng)
        register(self.registry, model="m", path=artifact, version=version, author="ann")
        for status in ("validated", "gated", "approved"):
            self.registry.move_status("m", version, status, actor="rev", reason="trial")
        return version

    def command(self, op: str) -> tuple[list[str], str | None]:
        if op == "register":
            version = self.new_version()
            size = self.rng.randint(1, ARTIFACT_BYTES)
            artifact = random_artifact(self.project / "in" / version, size, self.rng)
            return ["register", "m", str(artifact), "--version", version], version
        if op == "promote":
            version = self.approved()
            return ["promote", "m", version, "--actor", "ops"], version
        if self.registry.deployment("m").production is None or len(self._deployed()) < 2:
            for _ in range(2):
                self.registry.promote("m", self.approved(), actor="ops")
        return ["rollback", "m", "--actor", "ops", "--reason", "crash trial"], None

    def _deployed(self) -> list[str]:
        deployed = ("production", "retired")
        return [v.version for v in self.registry.versions("m") if v.status in deployed]

    def trial(self, op: str) -> list[str]:
        """One killed run and a retry; the list of what went wrong (empty when fine)."""
        args, version = self.command(op)
        before = event_count(self.registry, KIND[op])
        kill_at = self.rng.uniform(0.05, self.durations[op])
        killed = finish(start(self.project, self.env, *args), kill_after_s=kill_at)
        if not killed.killed and killed.returncode == 0:
            self.durations[op] = max(0.3, 0.8 * self.durations[op])
        committed = self._settled_count(KIND[op]) - before
        problems = []
        if not killed.killed and not killed.clear:
            problems.append(f"{op}: unclear failure: {killed.stderr[-300:]!r}")
        if committed not in (0, 1) or (killed.returncode == 0 and committed != 1):
            problems.append(f"{op}: {committed} events for one run (exit {killed.returncode})")
        retry = run(self.project, self.env, *args)
        problems += self._check_retry(op, retry, committed)
        after = event_count(self.registry, KIND[op]) - before
        expected = committed + (1 if retry.returncode == 0 else 0)
        if after != expected:
            problems.append(f"{op}: {after} events, expected {expected}")
        if op == "register" and retry.returncode == 0:
            left = [f for f in stored_files(self.registry) if is_temporary(Path(f).name)]
            if left:  # the retry removes what the killed run left
                problems.append(f"register: {len(left)} temporary files left: {left[:3]}")
        return problems + invariant_violations(self.registry, [version] if version else [])

    def _settled_count(self, kind: str) -> int:
        """The event count once a killed client's in-flight COMMIT has landed: PostgreSQL
        finishes a COMMIT it received even after the client died, a moment later."""
        counts = [event_count(self.registry, kind)]
        while len(counts) < 3 or len(set(counts[-3:])) > 1:
            time.sleep(0.3)
            counts.append(event_count(self.registry, kind))
        return counts[-1]

    @staticmethod
    def _check_retry(op: str, retry: Outcome, committed: int) -> list[str]:
        if not retry.clear:
            return [f"{op} retry: unclear failure: {retry.stderr[-300:]!r}"]
        if op == "rollback" or retry.returncode == 0:
            return (
                [] if retry.returncode in (0, 4) else [f"rollback retry: exit {retry.returncode}"]
            )
        if committed and retry.returncode == 4:
            return []  # it had committed: the retry says "already has version"/"already production"
        return [f"{op} retry: exit {retry.returncode}: {retry.stderr.strip()[-200:]}"]


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_sigkill_during_operations(
    db: str, cli_world: tuple[Registry, dict[str, str]], result: SuiteResult
) -> None:
    registry, env = cli_world
    harness = Trials(registry, env, random.Random(f"crash-{db}"))
    count = trials(ci=3, full=100)
    for i in range(count):
        if out_of_time():
            result.notes.append(f"stopped at the time budget after {result.trials} trials")
            break
        op = ("register", "promote", "rollback")[i % 3]
        problems = harness.trial(op)
        result.trials += 1
        if problems:
            result.invariant_violations += len(problems)
            result.notes += problems[:3]
    final = invariant_violations(registry)  # every version complete in cache and remote
    result.invariant_violations += len(final)
    result.notes += final[:3]
    assert result.invariant_violations == 0, result.notes
