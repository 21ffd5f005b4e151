"""Canary analysis, the rollout loop and the shadow comparison as plain code (no gateway,
no Prefect): the loop runs with fake side effects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from safeship.canary.analysis import analyse
from safeship.canary.observations import FLAGS, Observations
from safeship.canary.rollout import Effects, run_rollout
from safeship.canary.sequential import (
    FirstFlags,
    caller_test,
    first_flags,
    fixed_sample_size,
    mixture_e_value,
)
from safeship.canary.shadow import compare_pairs, mcnemar_one_sided, pair_rows
from safeship.canary.simulate import flags_scorer
from safeship.errors import ConfigError
from safeship.params import CanaryParams, ShadowParams, parse_params

P = CanaryParams(steps=[5, 25, 50, 100], min_requests=100, min_stable_requests=50,
                 max_step_duration_s=60)  # fmt: skip


def _rows(spec: list[tuple[str, str, dict[str, Any]]], start: int = 0) -> pd.DataFrame:
    """(arm, caller, {flag: True, latency_ms: x}) per request."""
    rows = []
    for i, (arm, caller, extra) in enumerate(spec):
        row = {"request_id": f"r{start + i}", "time": pd.Timestamp(start + i, unit="s", tz="UTC"),
               "role": arm, "version": "c" if arm == "canary" else "s", "user_hash": caller,
               "output": None, "status": 200, "latency_ms": extra.get("latency_ms", 10.0)}  # fmt: skip
        row.update({flag: bool(extra.get(flag, False)) for flag in FLAGS})
        rows.append(row)
    return pd.DataFrame(rows)


def _obs(
    spec: list[tuple[str, str, dict[str, Any]]], step: int = 0, weight: int = 5
) -> Observations:
    obs = Observations()
    obs.add(_rows(spec), candidate="c", step=step, weight=weight, score=flags_scorer)
    return obs


def _traffic(cn: int, sn: int, **flags: int) -> list[tuple[str, str, dict[str, Any]]]:
    """cn canary and sn stable requests, each from its own caller; ``ct=3`` flags the first
    3 canary requests toxic, ``st`` stable ones; ``ce``/``se`` errors likewise."""
    names = {"t": "toxic", "e": "error", "p": "pii"}
    spec = []
    for arm, n, prefix in (("canary", cn, "c"), ("stable", sn, "s")):
        for i in range(n):
            extra = {names[k[1]]: True for k, v in flags.items() if k[0] == prefix and i < v}
            spec.append((arm, f"{prefix}{i}", extra))
    return spec


def test_first_flags_keep_one_per_caller() -> None:
    callers = np.array([1, 1, 2, 1, 3])
    flags = np.array([True, True, False, True, True])
    canary = np.array([True, True, False, True, False])
    first = first_flags(callers, flags, canary, np.array([5.0, 5, 5, 25, 25]))
    assert first.canary.tolist() == [True, False] and first.p.tolist() == [0.05, 0.25]


def test_no_flags_no_evidence_and_weight_100_adds_none() -> None:
    empty = FirstFlags(np.zeros(0, dtype=bool), np.zeros(0))
    assert mixture_e_value(empty, [2, 5]) == 1.0
    full = FirstFlags(np.ones(50, dtype=bool), np.ones(50))
    assert mixture_e_value(full, [2, 5]) == 1.0


def test_one_busy_caller_is_one_unit() -> None:
    """A single canary caller flagged 500 times is one coin, not 500."""
    spec = [("canary", "busy", {"pii": True})] * 500 + _traffic(0, 2000, sp=10)
    obs = _obs(spec)
    verdict = analyse(obs, P, step=0, weight=5, elapsed_s=5, last_step=False)
    assert verdict.metrics["pii_rate"]["flagged_callers"] == {"canary": 1, "stable": 10}
    assert verdict.decision != "rollback"


def test_outcomes_of_one_check() -> None:
    ok = analyse(_obs(_traffic(120, 2000)), P, step=0, weight=5, elapsed_s=30, last_step=False)
    assert ok.decision == "next_step" and ok.canary_callers == 120
    last = analyse(_obs(_traffic(120, 0), step=3, weight=100), P, step=3, weight=100,
                   elapsed_s=30, last_step=True)  # fmt: skip
    assert last.decision == "promote"  # at 100% there is no stable arm left to wait for
    bad = analyse(_obs(_traffic(60, 1140, ce=12, se=3)), P, step=0, weight=5, elapsed_s=10,
                  last_step=False)  # fmt: skip
    assert bad.decision == "rollback" and bad.breach is not None
    assert bad.breach.metric == "error_rate" and bad.breach.value == pytest.approx(0.2)
    timed_out = analyse(_obs(_traffic(40, 900)), P, step=0, weight=5, elapsed_s=61,
                        last_step=False)  # fmt: skip
    assert timed_out.decision == "inconclusive" and timed_out.action == "hold"


def test_relative_delta_catches_a_rare_harm_rise() -> None:
    """0.05% -> 0.5%: far below the 1-point absolute delta, but 10x (allowed_ratio 2)."""
    first = FirstFlags(np.array([True] * 24 + [False] * 2), np.full(26, 0.5))
    assert caller_test(first, alpha=P.alpha / 7, ratios=P.ratios).rejected
    spec = _traffic(4800, 4800, cp=24, sp=2)
    verdict = analyse(_obs(spec, weight=50), P, step=0, weight=50, elapsed_s=5, last_step=False)
    assert verdict.decision == "rollback" and verdict.breach is not None
    assert verdict.breach.metric == "pii_rate"
    assert verdict.breach.value - verdict.breach.stable_value < 0.01  # type: ignore[operator]


def test_excess_below_both_deltas_is_not_a_breach() -> None:
    params = P.model_copy(update={"allowed_delta": {"toxicity_rate": 0.5},
                                  "allowed_ratio": {"toxicity_rate": 50.0}})  # fmt: skip
    obs = _obs(_traffic(120, 2280, ct=12, st=10))
    assert analyse(obs, P, step=0, weight=5, elapsed_s=5, last_step=False).decision == "rollback"
    verdict = analyse(obs, params, step=0, weight=5, elapsed_s=5, last_step=False)
    assert verdict.decision == "next_step"


def test_slow_canary_callers_breach_latency() -> None:
    spec = [("stable", f"s{i}", {"latency_ms": 10.0 + i % 7}) for i in range(400)]
    spec += [("canary", f"c{i}", {"latency_ms": 400.0}) for i in range(30)]
    verdict = analyse(_obs(spec, weight=25), P, step=0, weight=25, elapsed_s=5, last_step=False)
    assert verdict.breach is not None and verdict.breach.metric == "latency_p95_ms"


def test_fixed_sample_size_is_the_textbook_number() -> None:
    assert 200 <= fixed_sample_size(0.01, 0.05, 0.5, alpha=0.05, power=0.8) <= 260


class FakeWorld:
    """Side effects of the loop in memory: a clock, a request log, a registry's moves."""

    def __init__(self, traffic: list[tuple[str, str, dict[str, Any]]] | None) -> None:
        self.t, self.traffic, self.moves, self.checks = 0.0, traffic, [], []  # type: ignore[var-annotated]
        self.frames: list[pd.DataFrame] = []

    def wait(self, seconds: float) -> int:
        if self.traffic:
            self.frames.append(_rows(self.traffic, start=len(self.frames) * 10_000))
        self.t += seconds
        return 0

    def read(self, since: float, until: float) -> pd.DataFrame:
        return pd.concat(self.frames, ignore_index=True) if self.frames else _rows([])

    def effects(self) -> Effects:
        return Effects(now=lambda: self.t, wait=self.wait, read=self.read,
                       set_weight=lambda w: self.moves.append(("weight", w)) or self.t,
                       abort=lambda r, p, reject: self.moves.append(("abort", reject)),
                       record=self.checks.append,
                       promote=lambda r: self.moves.append(("promote", r)))  # fmt: skip


def test_no_traffic_waits_then_follows_the_policy_never_promotes() -> None:
    for policy, move in (("hold", ("abort", False)), ("rollback", ("abort", True))):
        world = FakeWorld(None)
        params = P.model_copy(update={"inconclusive": policy, "check_interval_s": 10})
        result = run_rollout(params, "c", world.effects(), flags_scorer)
        assert result.outcome == ("held" if policy == "hold" else "rolled_back")
        assert world.moves == [("weight", 5), move]
        assert len(world.checks) == 6  # it waited the whole step (60 s, a check every 10 s)
        assert "no traffic at all" in result.steps[0]["reason"]
        assert result.steps[0]["decision"] == "inconclusive"
    world = FakeWorld(None)
    params = P.model_copy(update={"inconclusive": "promote", "check_interval_s": 30})
    result = run_rollout(params, "c", world.effects(), flags_scorer)
    assert [s["decision"] for s in result.steps] == ["inconclusive"] * 4  # each says why
    assert all("policy canary.inconclusive: promote" in s["reason"] for s in result.steps)


def test_the_loop_steps_and_promotes_on_clean_traffic() -> None:
    world = FakeWorld(_traffic(60, 60))
    params = P.model_copy(update={"steps": [10, 100], "min_requests": 100})
    result = run_rollout(params, "c", world.effects(), flags_scorer)
    assert result.outcome == "passed"
    assert [m for m in world.moves if m[0] != "promote"] == [("weight", 10), ("weight", 100)]
    assert world.moves[-1][0] == "promote"
    assert "no concurrent stable arm" in result.steps[-1]["compared_with"]


def test_mcnemar() -> None:
    assert mcnemar_one_sided(0, 0) == 1.0
    assert mcnemar_one_sided(10, 0) == pytest.approx(1 / 1024)
    assert mcnemar_one_sided(5, 5) > 0.5


def _log(outputs: list[tuple[str, str | None, int]], one_caller: int = 0) -> pd.DataFrame:
    """Stable and shadow rows per prompt; the first ``one_caller`` prompts share a caller."""
    rows = []
    for i, (prod, cand, status) in enumerate(outputs):
        caller = "busy" if i < one_caller else f"u{i}"
        rows.append({"request_id": f"r{i}", "role": "stable", "version": "1.0.0",
                     "prompt": f"p{i}", "output": prod, "status": 200,
                     "user_hash": caller})  # fmt: skip
        rows.append({"request_id": f"r{i}", "role": "shadow", "version": "1.1.0",
                     "prompt": f"p{i}", "output": cand, "status": status,
                     "user_hash": caller})  # fmt: skip
    return pd.DataFrame(rows)


def test_shadow_pairs_pass_when_alike_and_fail_when_toxic() -> None:
    params = ShadowParams(min_pairs=20)
    same = [("Simmer the rice for fifteen minutes.",) * 2 + (200,)] * 60
    pairs = pair_rows(_log(same), "1.1.0")  # type: ignore[arg-type]
    assert len(pairs) == 60
    result, _, _ = compare_pairs(pairs, params, None)
    assert result.passed, result.reasons
    toxic = [("Simmer the rice.", "You are a stupid idiot, shut up.", 200)] * 20 + same[:40]
    result, _, _ = compare_pairs(pair_rows(_log(toxic), "1.1.0"), params, None)  # type: ignore[arg-type]
    assert not result.passed
    assert any("toxic_rate" in r for r in result.reasons)
    broken = [("Fine answer.", None, 502)] * 20 + same[:40]
    result, _, _ = compare_pairs(pair_rows(_log(broken), "1.1.0"), params, None)  # type: ignore[arg-type]
    assert any("error_rate" in r for r in result.reasons)
    one, _, _ = compare_pairs(pair_rows(_log(toxic, one_caller=20), "1.1.0"), params, None)  # type: ignore[arg-type]
    check = next(c for c in one.checks if c.metric == "toxic_rate")
    assert check.p_value is not None and check.p_value < 1e-5  # 20 pairs say "worse" ...
    assert check.callers == [1, 0] and check.passed  # ... but they are one caller
    few, _, _ = compare_pairs(pair_rows(_log(same[:5]), "1.1.0"), params, None)  # type: ignore[arg-type]
    assert not few.passed and "min_pairs" in few.reasons[0]


@pytest.mark.parametrize(
    ("section", "key"),
    [({"steps": [50, 25]}, "canary.steps"), ({"steps": [5, 150]}, "canary.steps.1"),
     ({"min_requests": 0}, "canary.min_requests"),
     ({"check_interval_s": 0}, "canary.check_interval_s"),
     ({"check_interval_s": -5}, "canary.check_interval_s"),
     ({"allowed_delta": {"nope": 0.1}}, "canary.allowed_delta"),
     ({"allowed_ratio": {"pii_rate": 0.5}}, "canary.allowed_ratio.pii_rate")],
)  # fmt: skip
def test_params_refuse_bad_values(section: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        parse_params({"canary": section}, Path("params.yaml"))


def test_params_file_with_impossible_canary_fails_at_load_time(tmp_path: Path) -> None:
    from safeship.params import load_params

    (tmp_path / "params.yaml").write_text("canary:\n  steps: [5, 25, 25, 100]\n")
    with pytest.raises(ConfigError, match=r"params.yaml: key 'canary.steps'.*strictly increase"):
        load_params(tmp_path)
