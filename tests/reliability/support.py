"""Shared pieces of the hostile-input and reliability tests: snapshots of what the
registry, ledger and storage hold, CLI runs that can be killed, and the invariants."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from safeship.registry.store import Registry


def stored_files(registry: Registry) -> list[str]:
    """Every file in the DVC cache and the default remote (temporary files included)."""
    root = registry.settings.project_root
    found: list[str] = []
    for store in (root / ".dvc" / "cache", registry.settings.dvc_remote_dir):
        if store.is_dir():
            found += sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file())
    return found


def snapshot(registry: Registry) -> tuple[object, ...]:
    """Everything a refused operation must leave unchanged."""
    head = registry.events()[-1].hash if registry.events() else None
    return (registry.count_rows(), head, stored_files(registry), _state_tree(registry))


def _state_tree(registry: Registry) -> list[str]:
    artifacts: Path = registry.settings.state_dir / "artifacts"
    if not artifacts.is_dir():
        return []
    return sorted(str(p.relative_to(artifacts)) for p in artifacts.rglob("*"))


# ---------------------------------------------------------------- CLI trials
SAFESHIP = [sys.executable, "-m", "safeship.cli"]
RAW_ERRORS = ("Traceback", "database is locked", "OperationalError", "psycopg.errors")


@dataclass
class Outcome:
    returncode: int
    stderr: str
    killed: bool

    @property
    def clear(self) -> bool:
        """Exited by itself with nothing raw on stderr (one line when it failed)."""
        if any(raw in self.stderr for raw in RAW_ERRORS):
            return False
        return self.returncode == 0 or len(self.stderr.strip().splitlines()) == 1


def cli_env(db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SAFESHIP_HOME"}
    env["SAFESHIP_DB_URL"] = db_url
    return env


def start(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*SAFESHIP, *args], cwd=project, env=env, text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def finish(process: subprocess.Popen[str], kill_after_s: float | None = None) -> Outcome:
    """Wait for ``process``; SIGKILL it after ``kill_after_s`` if it is still running."""
    killed = False
    try:
        _, stderr = process.communicate(timeout=kill_after_s if kill_after_s else 180)
    except subprocess.TimeoutExpired:
        if kill_after_s is None:
            raise
        process.send_signal(signal.SIGKILL)
        _, stderr = process.communicate(timeout=60)
        killed = True
    return Outcome(process.returncode, stderr or "", killed)


def run(project: Path, env: dict[str, str], *args: str) -> Outcome:
    return finish(start(project, env, *args))


def random_artifact(folder: Path, size: int, rng: random.Random) -> Path:
    """A model directory of ``size`` random bytes (so every version's objects are new)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"adapter": "ngram", "order": 3}', encoding="utf-8")
    (folder / "weights.bin").write_bytes(rng.randbytes(size))
    (folder / "tokenizer").mkdir(exist_ok=True)
    (folder / "tokenizer" / "vocab.txt").write_text(f"{rng.random()}\n", encoding="utf-8")
    return folder


def invariant_violations(registry: Registry, versions: list[str] | None = None) -> list[str]:
    """What is wrong with the registry after a trial (empty when every invariant holds).

    The ledger chain verifies; the tables match the ledger's replay; the deployment state
    is legal; and each named version (every version when ``versions`` is None) is complete
    in the DVC cache and the remote.
    """
    from safeship.errors import SafeshipError
    from safeship.monitoring.consistency import cross_check
    from safeship.monitoring.integrity import verify_version

    problems: list[str] = []
    try:
        registry.verify_ledger()
    except SafeshipError as error:
        problems.append(f"ledger: {error}")
    problems += cross_check(registry)
    for model in registry.models():
        state = registry.deployment(model.name)
        records = registry.versions(model.name)
        statuses = {r.version: r.status for r in records}
        in_production = sorted(v for v, s in statuses.items() if s == "production")
        if in_production != ([state.production] if state.production else []):
            problems.append(f"{model.name}: production {state.production}, rows {in_production}")
        if state.canary is not None and statuses.get(state.canary) != "canary":
            problems.append(f"{model.name}: canary {state.canary} is {statuses.get(state.canary)}")
        for record in records:
            if versions is not None and record.version not in versions:
                continue
            report = verify_version(registry, record)
            if not report["ok"]:
                problems.append(f"{model.name} {record.version}: storage {report['checks']}")
    return problems


def event_count(registry: Registry, kind: str) -> int:
    return sum(1 for e in registry.events() if e.kind == kind)
