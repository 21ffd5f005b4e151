"""Helpers shared by tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from safeship.registry.store import Registry


def make_artifact(
    folder: Path, *, seed: str = "a", config: dict[str, object] | None = None
) -> Path:
    """A small model directory: a config, weights and a nested tokenizer file."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(
        json.dumps(config or {"adapter": "ngram", "order": 3, "seed": 1}), encoding="utf-8"
    )
    (folder / "weights.bin").write_bytes((seed * 4096).encode())
    (folder / "tokenizer").mkdir(exist_ok=True)
    (folder / "tokenizer" / "vocab.txt").write_text(f"hello\nworld\n{seed}\n", encoding="utf-8")
    return folder


def make_pipeline_copy(dest: Path) -> dict[str, str]:
    """Copy the demo pipeline into ``dest`` (git + dvc init); return the stages' env."""
    from safeship.demo.workspace import copy_pipeline

    return copy_pipeline(dest)


def repro(dest: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    from safeship.lineage.pipeline import dvc_repro

    return dvc_repro(dest, env)


# ---------------------------------------------------------------- the CLI in a subprocess
SAFESHIP = [sys.executable, "-m", "safeship.cli"]


def run(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*SAFESHIP, *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def ok(project: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = run(project, *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def init_cli_project(project: Path) -> Path:
    """``safeship init`` in ``project`` plus two small artifacts ``m1`` and ``m2``."""
    ok(project, "init")
    make_artifact(project / "m1", seed="a")
    make_artifact(project / "m2", seed="b")
    return project


# ---------------------------------------------------------------- the ledger, tampered
def fill_ledger(registry: Registry, n: int = 6) -> None:
    """Append ``n`` note events."""
    for i in range(n):
        registry.record("note", actor="t", model="demo", payload={"i": i})


def _drop_guards(registry: Registry) -> None:
    """An attacker with database access removes the append-only triggers first."""
    with registry.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER ledger_no_update"))
            connection.execute(text("DROP TRIGGER ledger_no_delete"))
        else:
            connection.execute(text("DROP TRIGGER ledger_guard ON ledger_events"))


def tamper_ledger(registry: Registry, *statements: str) -> None:
    """Run SQL as an attacker with database access (append-only guards dropped first)."""
    _drop_guards(registry)
    with registry.engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
