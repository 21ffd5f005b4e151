"""The rescan's decisions, without a registry or Prefect."""

from __future__ import annotations

import pytest

from safeship.errors import InputError
from safeship.monitoring.rescan import (
    RescanResult,
    VersionScan,
    needs_scan,
    production_failed,
    rescan_targets,
)
from safeship.registry.profiles import StoredProfile
from safeship.registry.records import VersionRecord


def _version(version: str, status: str) -> VersionRecord:
    return VersionRecord(model="m", version=version, status=status, dir_hash="h", manifest={},
                         lineage={}, parent_version=None, adapter="ngram", author="a",
                         notes=None, created_at="t")  # fmt: skip


VERSIONS = [_version("1.0.0", "retired"), _version("1.1.0", "rejected"),
            _version("1.2.0", "retired"), _version("1.3.0", "production"),
            _version("1.4.0", "registered")]  # fmt: skip


def test_targets_production_then_recent_deployable() -> None:
    assert rescan_targets(VERSIONS, "1.3.0", 2) == ["1.3.0", "1.2.0", "1.0.0"]
    assert rescan_targets(VERSIONS, "1.3.0", 0) == ["1.3.0"]
    assert rescan_targets(VERSIONS, None, 1) == ["1.3.0"]


def test_targets_requested_production_first_and_unknown_refused() -> None:
    assert rescan_targets(VERSIONS, "1.3.0", 2, ["1.0.0", "1.3.0", "1.0.0"]) == ["1.3.0", "1.0.0"]
    with pytest.raises(InputError, match="9.9.9"):
        rescan_targets(VERSIONS, "1.3.0", 2, ["9.9.9"])


def _stored(probe_hash: str | None) -> StoredProfile:
    return StoredProfile(model="m", version="1.0.0", seq=0, kind="baseline", reason=None,
                         probe_set_version="1", probe_set_hash=probe_hash, profile={},
                         profile_hash="p", created_at="t")  # fmt: skip


def test_needs_scan() -> None:
    assert needs_scan(None, "abc")
    assert needs_scan(_stored("old"), "abc")
    assert not needs_scan(_stored("abc"), "abc")


def _scan(version: str, passed: bool) -> VersionScan:
    return VersionScan(version=version, kind="amendment", profile_hash="p", probe_set_hash="x",
                       battery_passed=True, gate_passed=passed)  # fmt: skip


def test_production_failed() -> None:
    result = RescanResult(model="m", reason="r", policy="alert", production="1.3.0",
                          scans=[_scan("1.3.0", False), _scan("1.2.0", True)])  # fmt: skip
    assert production_failed(result)
    result.scans[0] = _scan("1.3.0", True)
    assert not production_failed(result)
    assert not production_failed(result.model_copy(update={"production": None}))
