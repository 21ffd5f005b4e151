"""Many seeded canaries from real generations of real models, replayed through the
analysis (the gateway test runs each scenario once end to end)."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pytest
from canary_support import ngram_with_abuse

from safeship.canary.analysis import ArmStats, StepWindow, analyse
from safeship.config import CanaryParams
from safeship.models.base import GenerationRequest
from safeship.models.loader import load_generator
from safeship.safety.scorers import score_outputs
from safeship.testing.traffic import load_prompts

pytestmark = pytest.mark.slow


def _outcomes(path: Path, seeds: int) -> np.ndarray:
    """Per generated answer: [error, toxic, pii, guardrail] from the real model."""
    generator = load_generator(path)
    prompts = load_prompts()
    texts: list[str] = []
    for seed in range(seeds):
        request = GenerationRequest(max_new_tokens=32, temperature=1.0, seed=seed)
        texts += [g.text for g in generator.generate(prompts, request)]
    scores = score_outputs(texts)
    return np.column_stack([
        np.zeros(len(texts)), scores["toxicity"] >= 0.5, scores["pii"],
        scores["guardrail_violation"],
    ]).astype(int)  # fmt: skip


def _arm(rows: np.ndarray) -> ArmStats:
    sums = rows.sum(axis=0) if len(rows) else [0, 0, 0, 0]
    return ArmStats(n=len(rows), errors=int(sums[0]), toxic=int(sums[1]), pii=int(sums[2]),
                    guardrail=int(sums[3]), latency_p95_ms=10.0)  # fmt: skip


def simulate(stable: np.ndarray, canary: np.ndarray, params: CanaryParams, seed: int,
             check_every: int = 50) -> tuple[str, int]:  # fmt: skip
    """One rollout: requests split by weight, analysed every ``check_every`` requests."""
    rng = np.random.default_rng(seed)
    windows: list[StepWindow] = []
    total_canary = 0
    for index, weight in enumerate(params.steps):
        c_rows: list[np.ndarray] = []
        s_rows: list[np.ndarray] = []
        for tick in range(1, 10_000):
            for _ in range(check_every):
                if rng.random() * 100 < weight:
                    c_rows.append(canary[rng.integers(len(canary))])
                else:
                    s_rows.append(stable[rng.integers(len(stable))])
            window = StepWindow(step=index, weight=weight,
                                canary=_arm(np.array(c_rows)), stable=_arm(np.array(s_rows)))  # fmt: skip
            verdict = analyse([*windows, window], params, elapsed_s=tick,
                              last_step=index == len(params.steps) - 1)  # fmt: skip
            if verdict.decision != "continue":
                break
        total_canary += window.canary.n
        windows.append(window)
        if verdict.decision == "rollback":
            return "rollback", total_canary
    return "promote", total_canary


@pytest.fixture(scope="module")
def pools(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    base = tmp_path_factory.mktemp("models")
    production = ngram_with_abuse(base / "prod", 10)
    toxic = ngram_with_abuse(base / "toxic", 80)
    return {"production": _outcomes(production, 10), "toxic": _outcomes(toxic, 10)}


def test_fifty_aa_canaries_at_most_one_false_rollback(pools: dict[str, np.ndarray]) -> None:
    params = CanaryParams(min_requests=200)
    production = pools["production"]
    assert 0.005 < production[:, 1].mean() < 0.05  # production does emit some toxic text
    outcomes = [simulate(production, production, params, seed)[0] for seed in range(50)]
    assert outcomes.count("rollback") <= 1, outcomes


def test_five_fold_toxicity_is_rolled_back(pools: dict[str, np.ndarray]) -> None:
    params = CanaryParams(min_requests=200)
    production, toxic = pools["production"], pools["toxic"]
    ratio = toxic[:, 1].mean() / production[:, 1].mean()
    assert 3.5 < ratio < 7, ratio
    runs = [simulate(production, toxic, params, seed, check_every=20) for seed in range(50)]
    rolled = [n for outcome, n in runs if outcome == "rollback"]
    print(f"\ntoxicity {production[:, 1].mean():.4f} -> {toxic[:, 1].mean():.4f} "
          f"(x{ratio:.1f}): {len(rolled)}/50 rolled back; median canary requests "
          f"{statistics.median(rolled):.0f}")  # fmt: skip
    assert len(rolled) >= 45
