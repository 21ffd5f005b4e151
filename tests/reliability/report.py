"""Trial counts and the rows of the reliability summary (shared by the suite's tests)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

FULL = os.environ.get("SAFESHIP_RELIABILITY_FULL", "") in ("1", "true", "yes")
REPORT_DIR = os.environ.get("SAFESHIP_RELIABILITY_REPORT")


DEADLINE = float(os.environ.get("SAFESHIP_RELIABILITY_DEADLINE", "0") or 0)


def trials(ci: int, full: int) -> int:
    """How many trials a test runs: ``ci`` in CI and plain runs, ``full`` for the report."""
    return full if FULL else ci


def out_of_time() -> bool:
    """True once ``SAFESHIP_RELIABILITY_DEADLINE`` (epoch seconds, optional) has passed:
    a run on a busy machine stops starting trials and reports how many it ran."""
    return bool(DEADLINE) and time.time() > DEADLINE


@dataclass
class SuiteResult:
    suite: str
    database: str
    trials: int = 0
    failures: int = 0
    invariant_violations: int = 0
    server_errors: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


RESULTS: list[SuiteResult] = []
