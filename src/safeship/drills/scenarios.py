"""Drill scenarios: the faulty candidate each one deploys and the fault it injects.

* ``unsafe-candidate`` — a candidate whose upstream answers a share of requests with an
  insult and planted PII; caught by the canary analysis (toxicity / PII rates).
* ``latency-spike`` — a candidate whose upstream is slow; caught by the canary analysis
  (latency p95).
* ``error-burst`` — a candidate whose upstream fails a share of requests with HTTP 500;
  caught by the canary analysis (error rate).
* ``output-drift`` — a clean candidate on canary while traffic moves to a shifted prompt
  distribution; caught by the monitor's drift check of production outputs.
* ``tampered-artifact`` — a clean candidate on canary whose working copy *in staging*
  gets one changed byte; caught by the monitor's integrity check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from safeship.errors import InputError

if TYPE_CHECKING:
    from safeship.registry.store import Registry
    from safeship.testing.upstream import FakeUpstream


class Scenario(StrEnum):
    """The faults a rollback drill can inject."""

    UNSAFE_CANDIDATE = "unsafe-candidate"
    OUTPUT_DRIFT = "output-drift"
    LATENCY_SPIKE = "latency-spike"
    ERROR_BURST = "error-burst"
    TAMPERED_ARTIFACT = "tampered-artifact"


SCENARIOS: tuple[Scenario, ...] = tuple(Scenario)
CANARY_SCENARIOS = frozenset({"unsafe-candidate", "latency-spike", "error-burst"})
NORMAL_TOPICS = frozenset(
    {"accounts", "cooking", "travel", "programming", "health", "finance", "gardening", "fitness"}
)
ACTOR = "safeship-drill"


def check_scenario(scenario: str) -> Scenario:
    if scenario not in SCENARIOS:
        raise InputError(f"unknown drill scenario {scenario!r}; allowed: {', '.join(SCENARIOS)}")
    return Scenario(scenario)


def shifted_prompts(limit: int = 200) -> list[str]:
    """A shifted prompt distribution: the demo corpus's harmful requests (the ones a
    production model should refuse), not the everyday questions of normal traffic."""
    path = Path(__file__).resolve().parent.parent / "demo" / "data" / "refusals.jsonl"
    prompts: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("topic") not in NORMAL_TOPICS and record.get("prompt"):
            prompts.append(str(record["prompt"]))
    if not prompts:
        raise InputError(f"{path} holds no out-of-distribution prompts")
    return prompts[:limit]


def candidate_version(registry: Registry, model: str, scenario: str) -> str:
    """A version number above every existing one, marked as a drill (a pre-release)."""
    from safeship.registry.semver import SemVer

    top = max((SemVer.parse(v.version) for v in registry.versions(model)),
              key=lambda s: s.sort_key())  # fmt: skip
    return f"{top.major}.{top.minor}.{top.patch + 1}-drill.{scenario}"


@dataclass
class Candidate:
    version: str
    upstream: FakeUpstream | None = None
    fault: str = ""


def _approve(registry: Registry, model: str, version: str) -> None:
    for status in ("validated", "gated", "approved"):
        registry.move_status(model, version, status, actor=ACTOR, reason="drill candidate")


def upstream_candidate(
    registry: Registry,
    model: str,
    scenario: str,
    *,
    error_rate: float,
    latency_s: float,
    toxic_rate: float,
    production: str,
) -> Candidate:
    """A candidate served by a faulty loopback upstream, written to staging's working
    copies only (never to the DVC cache or remote), registered in staging, approved."""
    from safeship.registry.hashing import hash_directory
    from safeship.registry.names import version_path
    from safeship.testing.upstream import FakeUpstream, openai_candidate_dir

    faults: dict[str, float] = {
        "unsafe-candidate": {"toxic_rate": toxic_rate},
        "latency-spike": {"latency_s": latency_s},
        "error-burst": {"error_rate": error_rate},
    }[scenario]
    upstream = FakeUpstream(
        toxic_rate=faults.get("toxic_rate", 0.0),
        latency_s=faults.get("latency_s", 0.0),
        error_rate=faults.get("error_rate", 0.0),
    )
    version = candidate_version(registry, model, scenario)
    target = version_path(registry.settings.state_dir / "artifacts", model, version)
    try:
        openai_candidate_dir(target, upstream.base_url, timeout_s=30.0)
        manifest = hash_directory(target)
        (target / ".complete").write_text(manifest.dir_hash, encoding="utf-8")
        registry.add_version(
            model=model, version=version, manifest=manifest.to_dict(),
            lineage={"drill": {"scenario": scenario, "faults": faults}},
            parent_version=production, adapter="openai", author=ACTOR,
            notes=f"drill candidate ({scenario}): {faults}", risk_tier=None, actor=ACTOR,
        )  # fmt: skip
        _approve(registry, model, version)
    except BaseException:
        upstream.close()
        raise
    described = ", ".join(f"{k}={v}" for k, v in faults.items())
    return Candidate(version=version, upstream=upstream, fault=f"faulty upstream ({described})")


def clean_candidate(registry: Registry, model: str, scenario: str, production: str) -> Candidate:
    """A candidate with production's exact content (already in the DVC cache): clean, so
    only the injected fault can make it unsafe."""
    record = registry.version(model, production)
    version = candidate_version(registry, model, scenario)
    registry.add_version(
        model=model, version=version, manifest=record.manifest,
        lineage={"drill": {"scenario": scenario, "content_of": production}},
        parent_version=production, adapter=record.adapter, author=ACTOR,
        notes=f"drill candidate ({scenario}): the content of {production}", risk_tier=None,
        actor=ACTOR,
    )  # fmt: skip
    _approve(registry, model, version)
    return Candidate(version=version, fault=scenario)


def tamper_one_byte(working_copy: Path) -> str:
    """Flip one bit of one byte in the largest file of ``working_copy`` (staging's
    materialised copy); returns the file's relative path."""
    import os
    import stat

    files = [p for p in working_copy.rglob("*") if p.is_file() and p.name != ".complete"]
    if not files:
        raise InputError(f"{working_copy} holds no files to tamper with")
    target = max(files, key=lambda p: (p.stat().st_size, str(p)))
    mode = target.stat().st_mode
    os.chmod(target, mode | stat.S_IWUSR)
    try:
        with target.open("r+b") as handle:
            size = target.stat().st_size
            offset = size // 2
            handle.seek(offset)
            byte = handle.read(1) or b"\0"
            handle.seek(offset)
            handle.write(bytes([byte[0] ^ 0x01]))
    finally:
        os.chmod(target, mode)
    return str(target.relative_to(working_copy))
