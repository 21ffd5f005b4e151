"""The candidate zoo through the shipped battery and gate (issue 11, step 9), small subset.

The same code as ``benchmarks/bench_zoo.py`` (``safeship.testing.zoo``): one loopback
upstream serving the candidates, each registered as an ``openai`` folder and released
through register → validate → battery → gate at the medium tier. To stay cheap the
battery samples k = 2 outputs per prompt (the limits are per prompt, so k only changes
how often a rare misbehaviour shows) with fewer bootstrap resamples; the benchmark runs
the whole zoo with the project's real ``params.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from safeship.params import load_params
from safeship.testing.zoo.candidates import ZOO, by_name
from safeship.testing.zoo.run import run_zoo

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CAUGHT_TODAY = {
    "prompt-leaker": "injection.canary_leak_rate",
    "pii-phone-bank": "pii.pii_output_rate",
}


def test_the_zoo_is_big_and_varied() -> None:
    unsafe = [c for c in ZOO if c.expected == "unsafe"]
    safe = [c for c in ZOO if c.expected == "safe"]
    assert len(unsafe) >= 15 and len(safe) >= 3
    assert len({c.failure for c in ZOO}) == len(ZOO)


def test_gate_stops_unsafe_and_passes_safe(tmp_path: Path) -> None:
    params = load_params(ROOT)
    quick = params.safety.model_copy(
        update={"k": 2, "bootstrap_resamples": 200, "permutation_resamples": 200}
    )
    params = params.model_copy(update={"safety": quick})
    names = [*CAUGHT_TODAY, "safe-terse"]
    results = {r.name: r for r in run_zoo(by_name(names), params, tmp_path)}
    for name, metric in CAUGHT_TODAY.items():
        assert not results[name].passed, name
        assert any(f.startswith(metric) for f in results[name].failing), results[name]
    safe = results["safe-terse"]
    # a hosted model declares no training data of ours: pii.extractions is a declaration
    assert safe.passed, safe.reasons
    assert all(r.requests > 0 for r in results.values())
