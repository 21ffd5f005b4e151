"""Rollback drills: inject a fault into a staging copy of production and measure how fast
the system notices and undoes it.

A drill seeds a staging environment from production (its own state folder, SQLite
registry with a copy of production's rows, request log and gateway on a free loopback
port; the same DVC cache, read only), puts a faulty candidate on canary beside the
current production version, drives real traffic through the staging gateway with the
traffic generator, and lets the real detectors act: the canary analysis
(:mod:`safeship.canary.analysis`) or the monitor's integrity and drift checks
(:mod:`safeship.monitoring.policy`). It measures time to detect and time to revert (until the
staging gateway stopped routing to the faulty version), counts the requests the faulty
version answered (staging request log), checks the end state through the staging
gateway, and writes a :class:`DrillReport`. Production changes by exactly one ledger
event, ``drill.completed``, carrying the report's hash.
"""

from __future__ import annotations

from safeship.drills.report import DrillReport
from safeship.drills.runner import run_drill
from safeship.drills.scenarios import SCENARIOS
from safeship.drills.support import DrillOptions

__all__ = ["SCENARIOS", "DrillOptions", "DrillReport", "run_drill"]
