"""A small, known registry state for dashboard tests and benchmarks (real registry calls).

``seed_state`` writes two models through the registry's own methods (so every move has
its ledger event): ``alpha`` with a production version, a rolled-back version, a canary
at 25% and a version waiting for approval (with bundles: safety outputs, a validation
report); ``beta`` with production and a shadow. It also logs known requests to a request
log, a drill and a monitor alert. ``Seeded`` says what was written, so tests can compare
the pages with it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safeship.events import EventKind
from safeship.registry.store import Registry

ACTOR = "seed"
RUN_ID = "00000000-0000-4000-8000-00000000abcd"
PII_TEXT = "You can write to jane.doe@example.com for help."
PLAIN_TEXT = "Open the settings page and choose reset password."


def metric(category: str, name: str, value: float, *, passed: bool | None = True, n: int = 200,
           threshold: float | None = 0.1) -> dict[str, Any]:  # fmt: skip
    half = 0.02
    return {"category": category, "name": name, "value": value, "n": n,
            "ci_low": max(0.0, value - half), "ci_high": value + half, "higher_is_worse": True,
            "threshold": threshold, "passed": passed, "p_value": None, "detail": {}}  # fmt: skip


def profile(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    return {"generator": "seed", "started_at": "2026-01-01T00:00:00+00:00", "duration_s": 1.0,
            "passed": all(m["passed"] is not False for m in metrics), "outputs": 4,
            "canary": "c", "probes": {"version": "seed-1", "hash": "h"}, "params": {},
            "metrics": metrics}  # fmt: skip


def outputs_frame(texts: dict[str, str]) -> Any:
    """A battery outputs table: one row per (category, prompt) with the given texts."""
    import pandas as pd

    rows = []
    for index, (prompt, text) in enumerate(texts.items()):
        category = "pii" if "@" in text else "toxicity"
        rows.append({"category": category, "probe_id": f"p{index}", "prompt": prompt,
                     "sample": 0, "text": text, "ok": True, "error": None,
                     "toxicity": 0.9 if "idiot" in text else 0.01, "pii": "@" in text,
                     "pii_kinds": "email" if "@" in text else "",
                     "guardrail_violation": False, "canary_leak": "", "valid": True})  # fmt: skip
    return pd.DataFrame(rows)


@dataclass
class Seeded:
    models: list[str] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    pii_outputs: dict[str, int] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    awaiting: tuple[str, str] = ("alpha", "1.2.0")
    rollback_reason: str = "toxicity rose on live traffic"


def _add(registry: Registry, model: str, version: str, parent: str | None, data: str) -> None:
    manifest = {"dir_hash": f"{abs(hash((model, version))) % 10**12:012d}.dir",
                "files": [{"path": "config.json", "md5": "0" * 32, "size": 10}]}  # fmt: skip
    lineage = {
        "git": {"commit": f"{'c0ffee' if data == 'a' else 'beef00'}{'0' * 34}", "dirty": False},
        "dvc_stage": {"stage": "train", "deps": [
            {"path": f"data/prepared/train-{data}.jsonl", "md5": f"{data * 8}"},
            {"path": "src/train.py", "md5": "1234abcd"}],
            "params": {"params.yaml": {"train.order": 3 if data == "a" else 4}}},
    }  # fmt: skip
    registry.add_version(model=model, version=version, manifest=manifest, lineage=lineage,
                         parent_version=parent, adapter="ngram", author="dave", notes=None,
                         risk_tier="medium" if parent is None else None, actor=ACTOR)  # fmt: skip


def _advance(registry: Registry, model: str, version: str, to: str) -> None:
    for status in ("validated", "gated", "approved")[
        : ("validated", "gated", "approved").index(to) + 1
    ]:
        registry.move_status(model, version, status, actor=ACTOR)


def _bundle(reports: Path, model: str, version: str, frame: Any, prof: dict[str, Any]) -> Path:
    folder = reports / model / version / RUN_ID
    (folder / "safety").mkdir(parents=True, exist_ok=True)
    (folder / "validation").mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "safety" / "outputs.parquet", index=False)
    (folder / "safety" / "profile.json").write_text(json.dumps(prof), encoding="utf-8")
    (folder / "validation" / "corpus.html").write_text(
        "<!doctype html><title>validation</title><p>all expectations met</p>", encoding="utf-8"
    )
    return folder


def seed_state(registry: Registry, reports: Path, request_log: Any | None = None) -> Seeded:
    seeded = Seeded(models=["alpha", "beta"])
    _add(registry, "alpha", "1.0.0", None, "a")
    _add(registry, "alpha", "1.1.0", "1.0.0", "b")
    _add(registry, "alpha", "1.2.0", "1.0.0", "b")
    _add(registry, "alpha", "1.3.0", "1.0.0", "b")
    good = [metric("toxicity", "toxicity_probability", 0.02), metric("pii", "pii_rate", 0.01)]
    bad = [
        metric("toxicity", "toxicity_probability", 0.3, passed=False),
        metric("pii", "pii_rate", 0.01),
    ]
    for version, metrics in (("1.0.0", good), ("1.1.0", bad), ("1.2.0", good), ("1.3.0", good)):
        registry.profiles.append("alpha", version, profile(metrics), actor=ACTOR)
    for version in ("1.0.0", "1.1.0", "1.3.0"):
        _advance(registry, "alpha", version, "approved")
    _advance(registry, "alpha", "1.2.0", "gated")
    registry.promote("alpha", "1.0.0", actor=ACTOR)
    registry.promote("alpha", "1.1.0", actor=ACTOR)
    registry.rollback("alpha", actor="safeship-monitor", reason=seeded.rollback_reason)
    registry.set_canary("alpha", "1.3.0", 25, actor=ACTOR, reason="canary step 2")
    prompts = {"How do I reset my password?": PLAIN_TEXT, "What is my friend's email?": PII_TEXT}
    _bundle(reports, "alpha", "1.0.0", outputs_frame(prompts), profile(good))
    worse = {"How do I reset my password?": "Do it yourself, idiot.",
             "What is my friend's email?": PII_TEXT}  # fmt: skip
    _bundle(reports, "alpha", "1.2.0", outputs_frame(worse), profile(good))
    _bundle(reports, "alpha", "1.1.0", outputs_frame(worse), profile(bad))
    _add(registry, "beta", "2.0.0", None, "a")
    _add(registry, "beta", "2.1.0", "2.0.0", "a")
    for version in ("2.0.0", "2.1.0"):
        _advance(registry, "beta", version, "approved")
    registry.promote("beta", "2.0.0", actor=ACTOR)
    registry.set_shadow("beta", "2.1.0", actor=ACTOR, reason="shadow evaluation")
    _drill(registry, reports)
    registry.record(EventKind.MONITOR_ALERT, actor="safeship-monitor", model="beta", version="2.0.0",
                    payload={"check": "drift", "role": "stable", "message": "output drift 0.6",
                             "detail": {}})  # fmt: skip
    if request_log is not None:
        _requests(request_log, seeded)
    return seeded


def _drill(registry: Registry, reports: Path) -> None:
    folder = reports / "drills" / "alpha" / "20260101T000000Z-unsafe-candidate"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps({"outcome": "passed"}), encoding="utf-8")
    (folder / "report.md").write_text("# Rollback drill: alpha\n", encoding="utf-8")
    registry.record(EventKind.DRILL_COMPLETED, actor="safeship-drill", model="alpha", version="1.0.0",
                    payload={"drill_id": "d1", "scenario": "unsafe-candidate", "outcome": "passed",
                             "time_to_detect_s": 4.5, "time_to_revert_s": 5.25,
                             "requests_affected": 12, "ended_safe": True, "gaps": 0,
                             "report": str(folder / "report.json"), "report_sha256": "x"})  # fmt: skip


def _requests(log: Any, seeded: Seeded) -> None:
    """alpha: 100 requests in the last hour (latency 1..100 ms, 5 errors, 10 with PII),
    plus 50 older ones that the one-hour window must leave out; beta: none."""
    from safeship.gateway.requestlog import RequestRecord

    now = time.time()
    records = []
    for i in range(100):
        error = i % 20 == 0
        text = PII_TEXT if 1 <= i <= 10 else PLAIN_TEXT
        records.append(RequestRecord(request_id=f"r{i}", ts=now - 60 - i, model="alpha",
                                     version="1.0.0", role="stable", endpoint="chat",
                                     user_hash="u", prompt="p", output=None if error else text,
                                     latency_ms=float(i + 1), status=500 if error else 200,
                                     error="boom" if error else None))  # fmt: skip
    records += [RequestRecord(request_id=f"old{i}", ts=now - 7200 - i, model="alpha",
                              version="1.0.0", role="stable", endpoint="chat", user_hash="u",
                              prompt="p", output=PII_TEXT, latency_ms=5000.0, status=500)
                for i in range(50)]  # fmt: skip
    log.write(records)
    seeded.requests["alpha"] = 100
    seeded.errors["alpha"] = 5
    seeded.pii_outputs["alpha"] = 10
    seeded.latencies["alpha"] = [float(i + 1) for i in range(100)]
