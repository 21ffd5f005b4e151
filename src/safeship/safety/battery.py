"""The safety battery: run every probe set k times through a generator and measure.

``run_battery`` generates (fixed seeds: the j-th sample uses ``params.seed + j``), scores
every output once with ``score_outputs``, checks guardrails with a Great Expectations
suite and turns the outputs table into metrics, each with n and a 95% interval.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeship.models.base import Generation, GenerationRequest, Generator
from safeship.safety import attacks, bias, usefulness
from safeship.safety import metrics as category_metrics
from safeship.safety.compliance import is_harmful_compliance
from safeship.safety.judge import judged_metrics, open_judge
from safeship.safety.leaks import canary_leak, make_canary
from safeship.safety.pii import find_pii
from safeship.safety.probes import ProbeSuite, load_probes
from safeship.safety.quality import quality_metrics, split_reference
from safeship.safety.stats import PROFILE_SCHEMA_VERSION, Metric

if TYPE_CHECKING:
    import pandas as pd

    from safeship.params import SafetyParams

Progress = Callable[[int, int], None]
MAX_QUALITY_TEXTS = 100


@dataclass
class _Job:
    category: str
    prompts: list[str]
    rows: list[dict[str, Any]]  # per prompt: probe_id and category-specific columns
    system_prompt: str | None = None


@dataclass
class BatteryResult:
    """Metrics and the per-output table of one battery run."""

    metrics: list[Metric]
    outputs: pd.DataFrame
    generator: str
    probes: dict[str, Any]
    params: dict[str, Any]
    started_at: datetime
    duration_s: float
    canary: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """False when any metric the battery judges itself (bias, error rate) failed."""
        return all(metric.passed is not False for metric in self.metrics)

    @property
    def failures(self) -> list[Metric]:
        return [metric for metric in self.metrics if metric.passed is False]

    def metric(self, key: str) -> Metric | None:
        """The metric named ``category.name``, if the battery produced it."""
        return next((m for m in self.metrics if m.key == key), None)

    def profile(self) -> dict[str, Any]:
        """What ``profile.json`` holds: JSON-ready metrics, probe versions, params."""
        return {
            "schema_version": PROFILE_SCHEMA_VERSION,
            "generator": self.generator,
            "started_at": self.started_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "passed": self.passed,
            "outputs": len(self.outputs),
            "canary": self.canary,
            "probes": self.probes,
            "params": self.params,
            "metrics": [metric.model_dump(mode="json") for metric in self.metrics],
            **self.extra,
        }

    def save(self, directory: Path) -> dict[str, Path]:
        """Write ``outputs.parquet`` and ``profile.json`` into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        outputs = directory / "outputs.parquet"
        profile = directory / "profile.json"
        self.outputs.to_parquet(outputs, index=False)
        profile.write_text(json.dumps(self.profile(), indent=2, sort_keys=True) + "\n", "utf-8")
        return {"outputs": outputs, "profile": profile}


def _record_text(record: Any) -> str:
    if isinstance(record, str):
        return record
    if isinstance(record, Mapping):
        if isinstance(record.get("text"), str):
            return str(record["text"])
        if isinstance(record.get("response"), str):  # chat records: prompt, then response
            return f"{record.get('prompt') or ''} {record['response']}".strip()
        return " ".join(str(v) for v in record.values() if isinstance(v, str))
    return str(record)


def memorization_prompts(
    records: Sequence[Any], prefix_words: int, max_records: int
) -> list[tuple[str, str]]:
    """``(prompt, secret)`` pairs: the words before a record's first PII, and that PII."""
    pairs: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for record in records:
        text = _record_text(record)
        for match in find_pii(text):
            words = text[: match.start].split()[-prefix_words:]
            if not words:
                continue
            pair = (" ".join(words), match.text)
            if pair not in seen:
                seen.add(pair)
                pairs.append(pair)
            break
        if len(pairs) >= max_records:
            break
    return pairs


def _jobs(
    suite: ProbeSuite,
    params: SafetyParams,
    canary: str,
    training_records: Sequence[Any] | None,
    refs: list[tuple[str, str]],
) -> list[_Job]:
    jobs: list[_Job] = []
    for name in ("toxicity", "pii", "jailbreak", "overrefusal"):
        if name in suite.sets:
            probes = suite.sets[name].probes
            ids = [{"probe_id": p.id, "theme": p.field("theme")} for p in probes]
            jobs.append(_Job(name, [p.prompt for p in probes], ids))
    system = attacks.injection_system_prompt(suite, canary)
    if "injection" in suite.sets:
        probe_set = suite.sets["injection"]
        jobs.append(
            _Job(
                "injection",
                [p.prompt for p in probe_set.probes],
                [{"probe_id": p.id} for p in probe_set.probes],
                system_prompt=system,
            )
        )
    jobs += [_Job(*spec) for spec in attacks.attack_job_specs(suite, params, system)]
    if "bias" in suite.sets:
        prompts: list[str] = []
        rows: list[dict[str, Any]] = []
        for probe in suite.sets["bias"].probes:
            template = str(probe.field("template", probe.prompt))
            for group in probe.field("groups", []):
                prompts.append(template.replace("{group}", str(group)))
                rows.append({"probe_id": probe.id, "axis": probe.field("axis"), "group": group})
        jobs.append(_Job("bias", prompts, rows))
    for name, build in (
        ("usefulness", usefulness.reference_prompts),
        ("bias_ambiguous", bias.ambiguous_prompts),
    ):
        if name in suite.sets:
            jobs.append(_Job(name, *build(suite.sets[name])))
    pairs = memorization_prompts(
        training_records or [], params.memorization.prefix_words, params.memorization.max_records
    )
    jobs.append(
        _Job(
            "memorization",
            [prompt for prompt, _ in pairs],
            [{"probe_id": f"memorization-{i:04d}", "secret": s} for i, (_, s) in enumerate(pairs)],
        )
    )
    jobs.append(
        _Job(
            "quality",
            [prompt for prompt, _ in refs],
            [{"probe_id": f"quality-{i:04d}", "reference": r} for i, (_, r) in enumerate(refs)],
        )
    )
    return [job for job in jobs if job.prompts]


class _Runner:
    def __init__(self, params: SafetyParams, total: int, progress: Progress | None) -> None:
        self.params = params
        self.total = total
        self.done = 0
        self.progress = progress

    def generate(self, generator: Generator, job: _Job) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for sample in range(self.params.k):
            seed = self.params.seed + sample
            request = GenerationRequest(
                max_new_tokens=self.params.max_new_tokens,
                temperature=self.params.temperature,
                seed=seed,
                system_prompt=job.system_prompt,
            )
            started = time.perf_counter()
            try:
                generations = list(generator.generate(job.prompts, request))
            except Exception as error:  # the Protocol says "never raise"; count it anyway
                elapsed = time.perf_counter() - started
                message = f"{type(error).__name__}: {error}"
                generations = [Generation(p, "", 0, 0, elapsed, error=message) for p in job.prompts]
            if len(generations) != len(job.prompts):
                got = len(generations)
                generations = generations[: len(job.prompts)] + [
                    Generation(p, "", 0, 0, 0.0, error=f"adapter returned {got} results")
                    for p in job.prompts[got:]
                ]
            for prompt, meta, gen in zip(job.prompts, job.rows, generations, strict=True):
                out.append(
                    {
                        "category": job.category,
                        **meta,
                        "prompt": prompt,
                        "sample": sample,
                        "seed": seed,
                        "text": gen.text if gen.error is None else "",
                        "error": gen.error,
                        "ok": gen.error is None,
                        "latency_s": float(gen.latency_s),
                        "attempts": max(1, int(getattr(gen, "attempts", 1) or 1)),
                        "completion_tokens": int(gen.completion_tokens),
                    }
                )
            self.done += len(job.prompts)
            if self.progress is not None:
                self.progress(self.done, self.total)
        return out


_GENERIC_WORDS = frozenset({"person", "people", "user", "without", "with", "the", "and"})


def mask_group_terms(text: str, groups: Sequence[str]) -> str:
    """Replace every group's name (and its distinctive words) with ``person``.

    Counterfactual bias is about what the model says, not about the scorer reacting to
    the identity term itself (bag-of-words toxicity scorers do), so every group of the
    axis is masked in every output of that axis, symmetrically.
    """
    import re

    terms = {g.lower() for g in groups} | {
        word.lower()
        for g in groups
        for word in g.split()
        if len(word) > 2 and word.lower() not in _GENERIC_WORDS
    }
    pattern = r"(?<!\w)(?:" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.sub(pattern + r")(?!\w)", "person", text, flags=re.IGNORECASE)


def _score_bias_masked(frame: pd.DataFrame) -> None:
    """Score bias rows on masked text; other rows keep their plain scores."""
    from safeship.safety.scorers import detector_scores, sentiment_scores

    frame["bias_toxicity"] = frame["toxicity"]
    frame["bias_harassment"] = frame["harassment"]
    frame["bias_sentiment"] = frame["sentiment"]
    rows = frame.index[frame["category"] == "bias"]
    if len(rows) == 0:
        return
    axis_groups = frame.loc[rows].groupby("axis")["group"].unique()
    masked = [
        mask_group_terms(str(frame.at[i, "text"]), list(axis_groups[frame.at[i, "axis"]]))
        for i in rows
    ]
    profanity, harassment = detector_scores(masked)
    frame.loc[rows, "bias_toxicity"] = profanity
    frame.loc[rows, "bias_harassment"] = harassment
    frame.loc[rows, "bias_sentiment"] = sentiment_scores(masked)


def run_battery(
    generator: Generator,
    params: SafetyParams,
    *,
    training_records: Sequence[Any] | None = None,
    heldout_texts: Sequence[str] | None = None,
    baseline_generator: Generator | None = None,
    progress: Progress | None = None,
    probes: ProbeSuite | None = None,
    canary: str | None = None,
) -> BatteryResult:
    """Run every probe set through ``generator`` and measure; see the module docstring.

    Long on purpose: the battery in order (jobs, generation, scoring per category,
    metrics per category, the profile), each step a call into its own module."""
    import pandas as pd

    from safeship.safety.guardrails import check_guardrails
    from safeship.safety.scorers import score_outputs

    started_at, started = datetime.now(UTC), time.perf_counter()
    judge = open_judge(params)  # a configured judge that is down fails here, before any work
    suite = probes or load_probes()
    secret = canary or make_canary()
    heldout = [t for t in (heldout_texts or []) if isinstance(t, str)][:MAX_QUALITY_TEXTS]
    can_score = callable(getattr(generator, "token_logprobs", None))
    references = [] if can_score else [p for p in map(split_reference, heldout) if p is not None]
    jobs = _jobs(suite, params, secret, training_records, references)
    quality_jobs = [j for j in jobs if j.category == "quality"] if baseline_generator else []
    total = sum(len(j.prompts) for j in [*jobs, *quality_jobs]) * params.k
    runner = _Runner(params, total, progress)
    rows = [row for job in jobs for row in runner.generate(generator, job)]
    baseline_rows: list[dict[str, Any]] = []
    if baseline_generator is not None:
        baseline_rows = [
            r for job in quality_jobs for r in runner.generate(baseline_generator, job)
        ]

    base = pd.DataFrame(rows)
    for column in ("axis", "group", "secret", "reference", "theme", "stereotyped", "other"):
        if column not in base.columns:
            base[column] = None
    base["prompt_key"] = [  # the statistical unit: one prompt (bias: one probe and group)
        f"{c}:{p}" if g is None or g != g else f"{c}:{p}:{g}"
        for c, p, g in zip(base["category"], base["probe_id"], base["group"], strict=True)
    ]
    scores = score_outputs(base["text"].tolist(), params.guardrails)
    frame = pd.concat([base, scores.drop(columns=["text"])], axis=1)
    frame["valid"] = frame["ok"] & ~frame["empty"]
    requests = frame["category"] == "jailbreak"  # judged against the request it answers
    frame["harmful_compliance"] = False
    frame.loc[requests, "harmful_compliance"] = [
        is_harmful_compliance(str(text), str(prompt))
        for text, prompt in zip(
            frame.loc[requests, "text"], frame.loc[requests, "prompt"], strict=True
        )
    ]
    frame["canary_leak"] = [
        (canary_leak(text, secret) or "") if category == "injection" else ""
        for text, category in zip(frame["text"], frame["category"], strict=True)
    ]
    attacks.score_attacks(frame, secret, attacks.injection_system_prompt(suite, secret))
    _score_bias_masked(frame)
    valid_texts = frame.loc[frame["valid"], "text"].tolist()
    report = check_guardrails(valid_texts, params.guardrails)
    frame["gx_guardrail_violation"] = False
    if report.violations:
        frame.loc[frame["valid"], "gx_guardrail_violation"] = report.violations

    extra: dict[str, Any] = {"attacks": attacks.describe_attacks(params)}
    judge_metrics: list[Metric] = []
    if judge is not None:
        try:
            judge_metrics, extra["judge"] = judged_metrics(judge, frame, params)
        finally:
            judge.close()
    metrics: list[Metric] = [
        *category_metrics.toxicity_metrics(frame, params),
        *category_metrics.pii_metrics(frame, params),
        *category_metrics.memorization_metrics(
            frame, params, None if training_records is None else len(training_records)
        ),
        *category_metrics.injection_metrics(frame, params),
        *category_metrics.jailbreak_metrics(frame, params),
        *attacks.attack_metrics(frame, params),
        *bias.bias_metrics(frame, params),
        *bias.ambiguous_metrics(frame, params),
        *usefulness.overrefusal_metrics(frame, params),
        *usefulness.usefulness_metrics(frame, params),
        *category_metrics.guardrail_metrics(frame, report, params),
        *category_metrics.battery_wide_metrics(frame, params),
        *quality_metrics(generator, baseline_generator, frame, baseline_rows, heldout, params),
        *category_metrics.error_metrics(frame, params),
        *judge_metrics,
    ]
    return BatteryResult(
        metrics=metrics,
        outputs=frame,
        generator=str(getattr(generator, "name", type(generator).__name__)),
        probes=suite.describe(),
        params=params.model_dump(mode="json"),
        started_at=started_at,
        duration_s=time.perf_counter() - started,
        canary=secret,
        extra=extra,
    )
