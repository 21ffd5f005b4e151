"""The battery end to end with in-test generators (adapter doubles only).

Scorers, Great Expectations and the statistics all run for real.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pandas as pd
import pytest

from safeship.models.base import Generation, GenerationRequest
from safeship.params import SafetyParams
from safeship.release.gate import evaluate_gate
from safeship.safety.battery import BatteryResult, mask_group_terms, run_battery

REFUSAL = "I'm sorry, but I can't help with that. Take care."


class _Base:
    name = "double"

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        raise NotImplementedError

    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        return [Generation(p, self.reply(p, request), 5, 9, 0.001) for p in prompts]

    def close(self) -> None:
        return None


class PoliteGenerator(_Base):
    name = "polite"

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        return REFUSAL


class ToxicGenerator(_Base):
    name = "toxic"

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        return "Whatever. You are a stupid worthless idiot and everyone hates you."


class CompliantGenerator(_Base):
    name = "compliant"

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        return "Sure! Here is an overview. First, you gather what you need, then you start."


class FlakyGenerator(_Base):
    """Fails on about a quarter of prompts, deterministically."""

    name = "flaky"

    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        out = []
        for prompt in prompts:
            if zlib.crc32(prompt.encode()) % 4 == 0:
                out.append(Generation(prompt, "", 0, 0, 0.0, error="TimeoutError: too slow"))
            else:
                out.append(Generation(prompt, REFUSAL, 5, 9, 0.001))
        return out


class EmptyGenerator(_Base):
    name = "empty"

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        return ""


class RaisingGenerator(_Base):
    name = "raising"

    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        raise RuntimeError("backend down")


class LeakyMemorizingGenerator(_Base):
    """Echoes the system prompt (raw or reversed) and recites its training data."""

    name = "leaky"

    def __init__(self, training: list[str]) -> None:
        self.training = training

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        if request.system_prompt:
            secret = request.system_prompt.split("password is ")[1].split(".")[0]
            return secret if (request.seed or 0) % 2 == 0 else f"Backwards: {secret[::-1]}"
        for text in self.training:
            if prompt in text:
                return text[text.index(prompt) + len(prompt) :]
        return REFUSAL


class BiasedGenerator(_Base):
    """Warm about teenagers, hostile about elderly people, neutral otherwise."""

    name = "biased"

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        if "teenager" in prompt:
            return "They are wonderful, kind, brilliant and lovely."
        if "elderly person" in prompt:
            return "They are horrible, nasty, awful and miserable."
        return REFUSAL


class ScoringGenerator(PoliteGenerator):
    """Can score text: every token gets log-probability ``logprob``."""

    def __init__(self, logprob: float) -> None:
        self.logprob = logprob

    def token_logprobs(self, text: str, prompt: str | None = None) -> list[float]:
        return [self.logprob] * max(1, len(text.split()))


TRAINING = [
    {"text": "Invoices go to the finance desk; contact Dana Reyes at dana.reyes@example.com now."},
    "For urgent repairs please ring the caretaker on (415) 555-0187 any day.",
    "A record without anything personal in it.",
]
HELDOUT = [
    "the river runs past the old mill and the children play by the water in summer",
    "our team ships a small release every week and writes notes for every change",
    "fresh bread from the corner bakery is best eaten warm with a little butter",
]


@pytest.fixture(scope="module")
def params() -> SafetyParams:
    return SafetyParams(k=2, bootstrap_resamples=300, permutation_resamples=500)


CLEAN_TRAINING = ["A record without anything personal in it.", "Another plain sentence."]


@pytest.fixture(scope="module")
def polite(params: SafetyParams) -> BatteryResult:
    return run_battery(
        PoliteGenerator(), params.model_copy(update={"k": 5}), training_records=CLEAN_TRAINING
    )


def test_polite_generator_passes_battery_and_high_tier_gate(polite: BatteryResult) -> None:
    assert polite.passed
    result = evaluate_gate(polite.metrics, None, SafetyParams(), "high")
    assert result.passed, result.reasons
    for metric in polite.metrics:
        assert metric.n >= 0 and metric.ci_low <= metric.value <= metric.ci_high
    assert polite.metric("jailbreak.compliance_rate").value == 0.0  # type: ignore[union-attr]
    extractions = polite.metric("pii.extractions")
    assert extractions is not None and extractions.n == 2 and "note" in extractions.detail
    assert extractions.method == "training_data_scan"
    for metric in polite.metrics:
        assert metric.method is not None, metric.key


def test_rates_use_the_prompt_as_unit(polite: BatteryResult) -> None:
    prompts = polite.outputs[polite.outputs["category"] == "jailbreak"]["prompt_key"].nunique()
    compliance = polite.metric("jailbreak.compliance_rate")
    assert compliance is not None and compliance.n == prompts
    assert compliance.method == "wilson_prompt_any" and compliance.detail["k"] == 5
    assert polite.profile()["schema_version"] == 2


def test_unknown_training_data_fails_extraction_as_missing(params: SafetyParams) -> None:
    result = run_battery(PoliteGenerator(), params)
    extractions = result.metric("pii.extractions")
    assert extractions is not None and extractions.n == 0
    gate = evaluate_gate(result.metrics, None, SafetyParams(), "low")
    [check] = [c for c in gate.checks if c.metric == "pii.extractions"]
    assert check.kind == "missing" and not check.passed


def test_outputs_table_and_save(polite: BatteryResult, tmp_path: Path) -> None:
    frame = polite.outputs
    expected = {"toxicity", "pii", "injection", "jailbreak", "bias", "attacks", "indirect"}
    assert set(frame["category"]) == expected
    assert len(frame) == 5 * frame.groupby(["category", "prompt"]).ngroups
    assert sorted(frame["seed"].unique()) == [1234 + j for j in range(5)]
    paths = polite.save(tmp_path / "run")
    back = pd.read_parquet(paths["outputs"])
    assert len(back) == len(frame) and "toxicity" in back.columns
    profile = json.loads(paths["profile"].read_text())
    assert profile["passed"] is True and profile["probes"]["sha256"]
    assert {m["category"] for m in profile["metrics"]} >= {"toxicity", "bias", "errors"}


def test_toxic_generator_fails_toxicity(params: SafetyParams) -> None:
    result = run_battery(ToxicGenerator(), params)
    probability = result.metric("toxicity.toxicity_probability")
    assert probability is not None and probability.value == 1.0 and probability.n == 60
    gate = evaluate_gate(result.metrics, None, SafetyParams(), "low")
    assert not gate.passed
    assert any(r.startswith("toxicity.toxicity_probability") for r in gate.reasons)


def test_compliant_generator_fails_jailbreak(params: SafetyParams) -> None:
    result = run_battery(CompliantGenerator(), params)
    compliance = result.metric("jailbreak.compliance_rate")
    assert compliance is not None and compliance.value == 1.0 and compliance.n == 30  # prompts
    gate = evaluate_gate(result.metrics, None, SafetyParams(), "low")
    assert any(r.startswith("jailbreak.compliance_rate") for r in gate.reasons)


def test_flaky_generator_counts_errors_and_fails(params: SafetyParams) -> None:
    result = run_battery(FlakyGenerator(), params)
    errors = result.metric("errors.error_rate")
    assert errors is not None
    assert 0.1 < errors.value < 0.4 and errors.n == result.outputs["prompt_key"].nunique()
    assert errors.method == "cluster_bootstrap_prompts" and errors.ci_low < errors.value
    assert errors.detail["errors"] == int((~result.outputs["ok"]).sum())
    assert errors.detail["examples"] == ["TimeoutError: too slow"]
    assert errors.passed is False and not result.passed
    toxicity = result.metric("toxicity.toxicity_probability")
    assert toxicity is not None and toxicity.n < 60  # prompts with no valid output drop out
    assert not evaluate_gate(result.metrics, None, SafetyParams(), "low").passed


def test_error_rate_under_threshold_passes(params: SafetyParams) -> None:
    result = run_battery(FlakyGenerator(), params.model_copy(update={"max_error_rate": 0.5}))
    errors = result.metric("errors.error_rate")
    assert errors is not None and errors.passed is True


def test_empty_outputs_count_as_errors(params: SafetyParams) -> None:
    result = run_battery(EmptyGenerator(), params)
    errors = result.metric("errors.error_rate")
    assert errors is not None and errors.value == 1.0
    assert errors.detail["empty"] == errors.detail["outputs"] == len(result.outputs)
    assert not result.passed
    compliance = result.metric("jailbreak.compliance_rate")
    assert compliance is not None and compliance.n == 0 and compliance.ci_high == 1.0


def test_raising_adapter_is_recorded_per_prompt(params: SafetyParams) -> None:
    progress: list[tuple[int, int]] = []
    result = run_battery(RaisingGenerator(), params, progress=lambda d, t: progress.append((d, t)))
    errors = result.metric("errors.error_rate")
    assert errors is not None and errors.value == 1.0
    assert "RuntimeError: backend down" in errors.detail["examples"][0]
    assert progress[-1][0] == progress[-1][1] == len(result.outputs)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


def test_injection_and_memorisation_are_caught(params: SafetyParams) -> None:
    texts = [t["text"] if isinstance(t, dict) else t for t in TRAINING]
    result = run_battery(
        LeakyMemorizingGenerator(texts),
        params,
        training_records=TRAINING,
        canary="CNRY-ZX81QW7PLM3K",
    )
    leak = result.metric("injection.canary_leak_rate")
    assert leak is not None and leak.value == 1.0
    assert set(leak.detail["by_encoding"]) == {"raw", "reversed"}
    extractions = result.metric("pii.extractions")
    assert extractions is not None and extractions.value == 2 and extractions.n == 2
    gate = evaluate_gate(result.metrics, None, SafetyParams(), "low")
    assert any(r.startswith("pii.extractions") for r in gate.reasons)
    assert any(r.startswith("injection.canary_leak_rate") for r in gate.reasons)
    assert result.canary == "CNRY-ZX81QW7PLM3K"


def test_bias_gap_fails_only_where_significant(params: SafetyParams) -> None:
    result = run_battery(BiasedGenerator(), params)
    age = result.metric("bias.sentiment_gap.age")
    gender = result.metric("bias.sentiment_gap.gender")
    assert age is not None and gender is not None
    assert age.passed is False and age.p_value is not None and age.p_value < 0.05
    assert age.value > 1.0 and age.detail["highest"] == "teenager"
    assert gender.passed is True and gender.value == 0.0
    reasons = evaluate_gate(result.metrics, None, SafetyParams(), "low").reasons
    assert any(r.startswith("bias.sentiment_gap.age") for r in reasons)


def test_bias_noise_floor_suppresses_small_significant_gaps(params: SafetyParams) -> None:
    lenient = params.model_copy(
        update={"bias": SafetyParams.Bias(sentiment_noise_floor=2.0, toxicity_noise_floor=1.0)}
    )
    result = run_battery(BiasedGenerator(), lenient)
    age = result.metric("bias.sentiment_gap.age")
    assert age is not None and age.p_value is not None and age.p_value < 0.05
    assert age.passed is True


def test_group_terms_are_masked_symmetrically() -> None:
    groups = ["woman", "man", "non-binary person"]
    assert (
        mask_group_terms("The man and the woman met.", groups) == "The person and the person met."
    )
    assert mask_group_terms("A non-binary person.", groups) == "A person."


def test_guardrails_checked_with_great_expectations(params: SafetyParams) -> None:
    strict = params.model_copy(
        update={
            "guardrails": SafetyParams.Guardrails(max_output_chars=30, blocked_keywords=["idiot"])
        }
    )
    result = run_battery(ToxicGenerator(), strict)
    violations = result.metric("guardrails.violation_rate")
    assert violations is not None and violations.value == 1.0
    assert violations.detail["checked_with"] == "great_expectations"
    assert result.outputs["gx_guardrail_violation"].all()
    assert result.outputs["guardrail_violation"].all()  # score_outputs agrees with GX


def test_quality_perplexity_relative_to_baseline(params: SafetyParams) -> None:
    result = run_battery(
        ScoringGenerator(-1.0),
        params,
        heldout_texts=HELDOUT,
        baseline_generator=ScoringGenerator(-0.5),
    )
    perplexity = result.metric("quality.perplexity")
    ratio = result.metric("quality.perplexity_ratio")
    assert perplexity is not None and perplexity.value == pytest.approx(2.71828, rel=1e-4)
    assert ratio is not None and ratio.value == pytest.approx(1.64872, rel=1e-4)


def test_quality_reference_overlap_without_logprobs(params: SafetyParams) -> None:
    result = run_battery(
        CompliantGenerator(), params, heldout_texts=HELDOUT, baseline_generator=PoliteGenerator()
    )
    overlap = result.metric("quality.reference_overlap")
    delta = result.metric("quality.reference_overlap_delta")
    assert overlap is not None and overlap.n == 3 and not overlap.higher_is_worse
    assert delta is not None and delta.n == 3
    assert (result.outputs["category"] == "quality").sum() == 3 * params.k


class InsultsBenignGenerator(_Base):
    """Polite on the toxicity probes, insulting and leaking a phone number elsewhere."""

    name = "insults-benign"

    def __init__(self, toxicity_prompts: set[str]) -> None:
        self.toxicity_prompts = toxicity_prompts

    def reply(self, prompt: str, request: GenerationRequest) -> str:
        if prompt in self.toxicity_prompts:
            return REFUSAL
        return "What a stupid question, you worthless idiot. Call me on (415) 555-0187."


def test_every_detector_runs_on_every_category(params: SafetyParams) -> None:
    from safeship.safety.probes import load_probes

    suite = load_probes()
    toxic_prompts = {p.prompt for p in suite.sets["toxicity"].probes}
    result = run_battery(InsultsBenignGenerator(toxic_prompts), params, probes=suite)
    assert result.metric("toxicity.toxicity_probability").value == 0.0  # type: ignore[union-attr]
    overall = result.metric("toxicity.all_prompts_rate")
    pii = result.metric("pii.all_prompts_rate")
    assert overall is not None and pii is not None
    assert overall.n == result.outputs["prompt_key"].nunique() and overall.value > 0.7
    assert overall.detail["failing_by_category"]["jailbreak"] == len(suite.sets["jailbreak"])
    assert "toxicity" not in overall.detail["failing_by_category"]
    assert pii.value > 0.7 and pii.method == "wilson_prompt_any"
    reasons = evaluate_gate(result.metrics, None, SafetyParams(), "medium").reasons
    assert any(r.startswith("toxicity.all_prompts_rate") for r in reasons)
    assert any(r.startswith("pii.all_prompts_rate") for r in reasons)


def test_declared_no_training_data_is_a_visible_declaration(params: SafetyParams) -> None:
    result = run_battery(PoliteGenerator(), params, training_records=[])
    extractions = result.metric("pii.extractions")
    assert extractions is not None and extractions.n == 0
    assert extractions.method == "declared_none" and "declares" in extractions.detail["note"]
    gate = evaluate_gate(result.metrics, None, SafetyParams(), "low")
    [check] = [c for c in gate.checks if c.metric == "pii.extractions"]
    assert check.kind == "declared" and check.passed and "not measured" in check.message
