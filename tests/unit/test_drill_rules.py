"""Drill pieces without a gateway: scenarios, the faulty upstream, tampering, staging
seeding, the report and the CLI wiring."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from safeship.cli import build_parser
from safeship.config import Settings
from safeship.drills import SCENARIOS, DrillReport
from safeship.drills.report import write_report
from safeship.drills.scenarios import check_scenario, shifted_prompts, tamper_one_byte
from safeship.drills.staging import seed_staging, staging_settings
from safeship.errors import InputError
from safeship.registry.store import Registry
from safeship.testing.traffic import load_prompts
from safeship.testing.upstream import TOXIC_REPLY, FakeUpstream


def test_scenarios_are_checked() -> None:
    assert set(SCENARIOS) == {"unsafe-candidate", "output-drift", "latency-spike",
                              "error-burst", "tampered-artifact"}  # fmt: skip
    with pytest.raises(InputError, match="allowed: unsafe-candidate"):
        check_scenario("meteor-strike")


def test_shifted_prompts_differ_from_normal_traffic() -> None:
    shifted = shifted_prompts()
    assert len(shifted) >= 50
    assert not set(shifted) & set(load_prompts())


def test_upstream_injects_exact_shares() -> None:
    upstream = FakeUpstream(error_rate=1 / 3, toxic_rate=0.25)
    try:
        statuses, texts = [], []
        with httpx.Client(timeout=5) as client:
            for _ in range(8):
                r = client.post(f"{upstream.base_url}/completions", json={"prompt": "hi"})
                statuses.append(r.status_code)
                if r.status_code == 200:
                    texts.append(r.json()["choices"][0]["text"])
    finally:
        upstream.close()
    assert [i + 1 for i, s in enumerate(statuses) if s == 500] == [3, 6]
    assert texts.count(TOXIC_REPLY) == 2  # requests 4 and 8


def test_tamper_changes_one_byte(tmp_path: Path) -> None:
    (tmp_path / "small.txt").write_bytes(b"ab")
    big = tmp_path / "weights.bin"
    big.write_bytes(bytes(range(200)))
    big.chmod(0o444)
    assert tamper_one_byte(tmp_path) == "weights.bin"
    changed = big.read_bytes()
    assert sum(a != b for a, b in zip(changed, bytes(range(200)), strict=True)) == 1
    assert big.stat().st_mode & 0o777 == 0o444


def test_seed_copies_rows_and_starts_its_own_ledger(tmp_path: Path) -> None:
    production_settings = Settings(tmp_path, tmp_path / ".safeship",
                                   f"sqlite:///{tmp_path / '.safeship' / 'registry.db'}")  # fmt: skip
    manifest = {"dir_hash": "d" * 32 + ".dir", "files": [], "size": 0}
    with Registry.open(production_settings) as production:
        production.add_version(model="m", version="1.0.0", manifest=manifest, lineage={},
                               parent_version=None, adapter="ngram", author="ann", notes=None,
                               risk_tier="low", actor="ann")  # fmt: skip
        for status in ("validated", "gated", "approved"):
            production.move_status("m", "1.0.0", status, actor="bob")
        production.promote("m", "1.0.0", actor="bob")
        before = production.count_rows()
        stage = staging_settings(production_settings, "d1")
        assert stage.state_dir == production_settings.state_dir / "staging" / "d1"
        with seed_staging(production, stage, "d1") as staging:
            assert staging.deployment("m").production == "1.0.0"
            assert staging.version("m", "1.0.0").status == "production"
            events = staging.events()
            assert [e.kind for e in events] == ["drill.seeded"]
            assert events[0].payload["copied_rows"]["model_versions"] == 1
        assert production.count_rows() == before


def test_report_is_written_and_hashed(tmp_path: Path) -> None:
    report = DrillReport(drill_id="d", model="m", scenario="error-burst", outcome="failed",
                         started_at="t0", finished_at="t1", production_version="1.0.0",
                         failures=["the fault was not detected"], gaps=["g"])  # fmt: skip
    digest = write_report(report, tmp_path / "out")
    payload = (tmp_path / "out" / "report.json").read_bytes()
    assert digest == hashlib.sha256(payload).hexdigest() == report.report_sha256
    data = json.loads(payload)
    for key in ("scenario", "outcome", "time_to_detect_s", "time_to_revert_s",
                "requests_affected"):  # fmt: skip
        assert key in data
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "**FAILED**" in markdown and "the fault was not detected" in markdown


def test_cli_has_the_drill_command() -> None:
    args = build_parser().parse_args(["drill", "demo-chat", "--scenario", "error-burst", "--json"])
    assert args.scenario == "error-burst" and args.json
    with pytest.raises(SystemExit):
        build_parser().parse_args(["drill", "demo-chat", "--scenario", "nope"])
