"""Helpers for the canary tests (no tests here): real n-gram versions with a controlled
share of abusive training lines, a flaky OpenAI-compatible upstream, and a driver that
wires the shipped rollout loop to a real gateway without Prefect."""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

from safeship.canary.observations import text_scorer
from safeship.canary.rollout import Effects, RolloutResult, run_rollout
from safeship.gateway.requestlog import RequestLog
from safeship.params import CanaryParams, SafetyParams
from safeship.registry.store import Registry
from safeship.testing.ngram import DEMO_DATA
from safeship.testing.ngram import train_ngram as kit_train_ngram
from safeship.testing.traffic import TrafficConfig, load_prompts, run_traffic
from safeship.testing.upstream import FakeUpstream

ABUSIVE_WORDS = ("idiot", "dumb", "crap", "stupid", "moron", "loser", "shut up", "pathetic")


def abusive_lines() -> list[dict[str, Any]]:
    path = DEMO_DATA / "unfiltered_scrape.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in records if any(w in r["response"].lower() for w in ABUSIVE_WORDS)]


def train_ngram(dest: Path, order: int, data: Path | None = None) -> Path:
    """A real demo n-gram model on the cooking and travel slices (no request router: those
    slices hold no refusals to train one on)."""
    return kit_train_ngram(dest, order, data, router=False)


def ngram_with_abuse(dest: Path, abusive: int, order: int = 3) -> Path:
    """A real n-gram model on the cooking+travel corpus plus ``abusive`` insulting lines
    from the unfiltered scrape (10 → ~1.4% toxic outputs, 80 → ~6.7%)."""
    base = dest.parent / "prepared"
    if not (base / "corpus.jsonl").exists():
        train_ngram(dest.parent / "_base", order)  # prepares the corpus as a side effect
    if abusive == 0:
        return train_ngram(dest, order, data=base)
    data = dest.parent / f"data-{dest.name}"
    data.mkdir(parents=True, exist_ok=True)
    for file in base.iterdir():
        shutil.copy(file, data / file.name)
    rng = random.Random(abusive)
    extra = []
    for i, record in enumerate(rng.sample(abusive_lines(), abusive)):
        extra.append(json.dumps({**record, "id": f"abuse-{i:04d}", "source": "scrape"}))
    corpus = (base / "corpus.jsonl").read_text().rstrip("\n").splitlines()
    (data / "corpus.jsonl").write_text("\n".join(corpus + extra) + "\n")
    return train_ngram(dest, order, data=data)


def FlakyUpstream(fail_rate: float) -> FakeUpstream:  # noqa: N802 - reads as the fake it makes
    """The shared fake upstream, failing exactly every 1/fail_rate-th request."""
    return FakeUpstream(error_rate=fail_rate)


def rollout_on_gateway(
    registry: Registry,
    gateway: Any,
    log: RequestLog,
    model: str,
    candidate: str,
    params: CanaryParams,
    *,
    rate: float,
    seed: int = 0,
) -> RolloutResult:
    """The shipped rollout loop against a real gateway: real traffic between checks (500
    sticky callers), the real request log, the registry's moves; no Prefect."""
    prompts = load_prompts()
    seeds = {"next": seed}

    def wait(seconds: float) -> int:
        config = TrafficConfig(url=gateway.url, model=model, rate=rate, duration_s=seconds,
                               prompts=prompts, users=500, seed=seeds["next"], user_prefix="t")  # fmt: skip
        seeds["next"] += int(rate * seconds)
        sent = run_traffic(config).sent
        gateway.gateway.requests.flush()
        return sent

    def set_weight(weight: int) -> float:
        event = registry.set_canary(model, candidate, weight, actor="tester", reason="step")
        gateway.wait_seq(event.seq)
        return time.time()

    def abort(reason: str, payload: dict[str, Any], reject: bool) -> None:
        registry.abort_canary(model, candidate, actor="tester", reason=reason, reject=reject,
                              payload=payload)  # fmt: skip

    effects = Effects(
        now=time.time, wait=wait, read=lambda a, b: log.query(model, since=a, until=b),
        set_weight=set_weight, abort=abort, record=lambda verdict: None,
        promote=lambda reason: registry.promote(model, candidate, actor="tester", reason=reason),
    )  # fmt: skip
    scorer = text_scorer(SafetyParams.Guardrails(), params.toxic_score)
    return run_rollout(params, candidate, effects, scorer)
