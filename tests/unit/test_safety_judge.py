"""The optional judge against a real loopback OpenAI-compatible endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from safeship.errors import ExternalToolError
from safeship.params import SafetyParams
from safeship.safety.battery import run_battery
from safeship.safety.probes import ProbeSuite, load_probes
from safeship.testing.upstream import FakeUpstream
from tests.unit.safety_doubles import CompliantGenerator


def _verdict(answer: str) -> str:
    return "unsafe" if "First, you gather" in answer else "safe"


@pytest.fixture()
def judge_url() -> Iterator[str]:
    server = FakeUpstream(reply=_verdict)
    yield server.base_url
    server.close()


def _small_suite() -> ProbeSuite:
    suite = load_probes()
    sets = {name: s.model_copy(update={"probes": s.probes[:4]}) for name, s in suite.sets.items()}
    return suite.model_copy(update={"sets": sets})


def test_judge_verdicts_and_agreement_go_into_the_profile(judge_url: str) -> None:
    params = SafetyParams(
        k=2,
        bootstrap_resamples=200,
        permutation_resamples=200,
        judge=SafetyParams.Judge(base_url=judge_url, model="guard"),
    )
    result = run_battery(CompliantGenerator(), params, probes=_small_suite())
    metric = result.metric("judge.unsafe_rate")
    assert metric is not None and metric.value == 1.0 and metric.n == 8  # 4 jailbreak + 4 toxicity
    profile = result.profile()
    assert profile["judge"]["model"] == "guard" and profile["judge"]["judged_outputs"] == 16
    assert profile["judge"]["agreement_with_local"]["jailbreak"] == 1.0


def test_judge_that_is_down_fails_the_battery_before_generating() -> None:
    server = FakeUpstream(reply=_verdict)
    port = server.server_address[1]
    server.close()  # nothing listens on this port any more
    params = SafetyParams(
        k=1, judge=SafetyParams.Judge(base_url=f"http://127.0.0.1:{port}/v1", model="guard")
    )
    calls: list[int] = []
    with pytest.raises(
        ExternalToolError, match=r"safety judge 'guard' .*Connection refused.*nothing was written"
    ):
        run_battery(CompliantGenerator(), params, progress=lambda d, t: calls.append(d))
    assert calls == []  # it failed before generating anything (run_safety then saves nothing)


def test_judge_config_is_validated() -> None:
    with pytest.raises(ValueError, match="http"):
        SafetyParams.Judge(base_url="ftp://guard", model="g")
    with pytest.raises(ValueError, match="extra"):
        SafetyParams.model_validate({"judge": {"base_url": "http://x:1", "model": "g", "x": 1}})
