"""Canary analysis and the shadow comparison as pure functions (no gateway, no Prefect)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from safeship.canary.analysis import ArmStats, StepWindow, analyse
from safeship.canary.sequential import Window, fixed_sample_size, mixture_e_value, rate_test
from safeship.canary.shadow import compare_pairs, mcnemar_one_sided, pair_rows
from safeship.config import CanaryParams, ShadowParams, parse_params
from safeship.errors import ConfigError

P = CanaryParams(steps=[5, 25, 50, 100], min_requests=100, min_stable_requests=50,
                 max_step_duration_s=60)  # fmt: skip


def _window(weight: int, cn: int, sn: int, step: int = 0, **events: int) -> StepWindow:
    c = ArmStats(n=cn, errors=events.get("ce", 0), toxic=events.get("ct", 0),
                 latency_p95_ms=events.get("clat", 10))  # fmt: skip
    s = ArmStats(n=sn, errors=events.get("se", 0), toxic=events.get("st", 0),
                 latency_p95_ms=events.get("slat", 10))  # fmt: skip
    return StepWindow(step=step, weight=weight, canary=c, stable=s)


def test_no_events_no_evidence() -> None:
    assert mixture_e_value([Window(100, 0, 1900, 0)], [2, 5]) == pytest.approx(1.0)
    assert mixture_e_value([Window(0, 0, 0, 0)], [2, 5]) == pytest.approx(1.0)


def test_little_traffic_continues_even_with_an_event() -> None:
    verdict = analyse([_window(5, 3, 60, ct=1)], P, elapsed_s=5, last_step=False)
    assert verdict.decision == "continue"


def test_e_value_is_a_martingale_under_the_null() -> None:
    """Ville: under equal rates the e-value crosses 1/alpha in at most ~alpha of runs."""
    rng = np.random.default_rng(0)
    crossed = 0
    for _ in range(300):
        cn = ce = sn = se = 0
        for _ in range(40):
            cn += 10
            sn += 190
            ce += rng.binomial(10, 0.05)
            se += rng.binomial(190, 0.05)
            if mixture_e_value([Window(cn, ce, sn, se)], [2, 3, 5, 8]) >= 20:
                crossed += 1
                break
    assert crossed / 300 <= 0.05


def test_outcomes_of_one_check() -> None:
    ok = analyse([_window(5, 120, 2000)], P, elapsed_s=30, last_step=False)
    assert ok.decision == "next_step"
    last = analyse([_window(100, 120, 0)], P, elapsed_s=30, last_step=True)
    assert last.decision == "promote"  # at 100% there is no stable arm left to wait for
    bad = analyse([_window(5, 60, 1140, ce=12)], P, elapsed_s=10, last_step=False)
    assert bad.decision == "rollback" and bad.breach is not None
    assert bad.breach.metric == "error_rate" and bad.breach.value == pytest.approx(0.2)
    assert bad.breach.bound == pytest.approx(0.01)
    slow = analyse([_window(5, 60, 1140, clat=400, slat=20)], P, elapsed_s=10, last_step=False)
    assert slow.decision == "rollback" and slow.breach.metric == "latency_p95_ms"  # type: ignore[union-attr]
    timed_out = analyse([_window(5, 40, 900)], P, elapsed_s=61, last_step=False)
    assert timed_out.decision == "inconclusive" and timed_out.action == "hold"
    policy = P.model_copy(update={"inconclusive": "rollback"})
    assert (
        analyse([_window(5, 40, 900)], policy, elapsed_s=61, last_step=False).action == "rollback"
    )


def test_excess_below_allowed_delta_is_not_a_breach() -> None:
    params = P.model_copy(update={"allowed_delta": {"toxicity_rate": 0.5}})
    verdict = analyse([_window(5, 120, 2280, ct=12, st=10)], params, elapsed_s=5, last_step=False)
    assert rate_test([Window(120, 12, 2280, 10)], alpha=0.0125, ratios=P.ratios).rejected
    assert verdict.decision == "next_step"


def test_windows_with_different_weights_combine() -> None:
    first = _window(5, 100, 1900, step=0, ct=3, st=19)
    second = _window(25, 100, 300, step=1, ct=9, st=3)
    verdict = analyse([first, second], P, elapsed_s=5, last_step=False)
    assert verdict.metrics["toxicity_rate"]["canary_n"] == 200
    assert verdict.decision == "rollback"


def test_fixed_sample_size_is_the_textbook_number() -> None:
    assert 200 <= fixed_sample_size(0.01, 0.05, 0.5, alpha=0.05, power=0.8) <= 260


def test_mcnemar() -> None:
    assert mcnemar_one_sided(0, 0) == 1.0
    assert mcnemar_one_sided(10, 0) == pytest.approx(1 / 1024)
    assert mcnemar_one_sided(5, 5) > 0.5


def _log(outputs: list[tuple[str, str | None, int]]) -> pd.DataFrame:
    rows = []
    for i, (prod, cand, status) in enumerate(outputs):
        rows.append({"request_id": f"r{i}", "role": "stable", "version": "1.0.0",
                     "prompt": f"p{i}", "output": prod, "status": 200})  # fmt: skip
        rows.append({"request_id": f"r{i}", "role": "shadow", "version": "1.1.0",
                     "prompt": f"p{i}", "output": cand, "status": status})  # fmt: skip
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
    few, _, _ = compare_pairs(pair_rows(_log(same[:5]), "1.1.0"), params, None)  # type: ignore[arg-type]
    assert not few.passed and "min_pairs" in few.reasons[0]


def test_params_refuse_bad_values() -> None:
    with pytest.raises(ConfigError, match="canary.steps"):
        parse_params({"canary": {"steps": [50, 25]}}, __import__("pathlib").Path("params.yaml"))
    with pytest.raises(ConfigError, match="allowed_delta"):
        parse_params({"canary": {"allowed_delta": {"nope": 0.1}}},
                     __import__("pathlib").Path("params.yaml"))  # fmt: skip
