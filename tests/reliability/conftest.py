"""The reliability suite: slow-marked; bounded trial counts by default (CI), full counts with
``SAFESHIP_RELIABILITY_FULL=1`` (``make reliability``), which also writes
``reports/reliability/summary.json`` and ``summary.md``."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.project import init_project
from safeship.registry.store import Registry
from tests.reliability.report import FULL, REPORT_DIR, RESULTS, SuiteResult
from tests.reliability.support import cli_env


@pytest.fixture
def result(request: pytest.FixtureRequest) -> Iterator[SuiteResult]:
    """A row of the reliability summary, filled in by the test."""
    database = getattr(getattr(request.node, "callspec", None), "params", {}).get("db", "-")
    row = SuiteResult(suite=request.node.originalname, database=str(database))
    started = time.monotonic()
    yield row
    row.seconds = round(time.monotonic() - started, 1)
    RESULTS.append(row)


@pytest.fixture
def cli_world(
    request: pytest.FixtureRequest, project: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Registry, dict[str, str]]]:
    """An initialised project on the test's ``db`` (SQLite or a PostgreSQL schema), its
    registry, and the environment that points the CLI at it."""
    db = request.node.callspec.params["db"]
    url = f"sqlite:///{project / '.safeship' / 'registry.db'}"
    if db == "postgres":
        url = str(request.getfixturevalue("pg_url"))
    monkeypatch.setenv("SAFESHIP_DB_URL", url)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "init"], cwd=project, check=True)
    settings = Settings.from_env(project)
    init_project(settings)
    with Registry.open(settings, create=False) as registry:
        yield registry, cli_env(url)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.slow)
            # full counts run far past the suite-wide 600 s per-test timeout
            item.add_marker(pytest.mark.timeout(6 * 3600 if FULL else 600))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not REPORT_DIR or not RESULTS:
        return
    out = Path(REPORT_DIR)
    out.mkdir(parents=True, exist_ok=True)
    totals = {
        key: sum(getattr(r, key) for r in RESULTS)
        for key in ("trials", "failures", "invariant_violations", "server_errors")
    }
    summary = {
        "full_counts": FULL,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "load": os.getloadavg()[0],
        "pytest_exit": int(exitstatus),
        "totals": totals,
        "suites": [asdict(r) for r in RESULTS],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Reliability summary",
        "",
        f"{summary['when']}, full counts: {FULL}, pytest exit {exitstatus}, load {summary['load']:.1f}",
        "",
        "| suite | database | trials | failures | invariant violations | 5xx | seconds |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r.suite} | {r.database} | {r.trials} | {r.failures} | "
            f"{r.invariant_violations} | {r.server_errors} | {r.seconds} |"
            for r in RESULTS
        ),
        f"| **total** | | {totals['trials']} | {totals['failures']} | "
        f"{totals['invariant_violations']} | {totals['server_errors']} | |",
    ]
    notes = [f"- {r.suite} ({r.database}): {n}" for r in RESULTS for n in r.notes]
    if notes:
        lines += ["", "Notes:", *notes]
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
