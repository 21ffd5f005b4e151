"""``serving``, ``canary``, ``shadow`` and ``monitor``: the gateway and what watches it."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from safeship.params.base import _Section


class ServingParams(_Section):
    """``serving``: the gateway's limits, timeouts and request log (issue 5)."""

    class RequestLog(_Section):
        enabled: bool = True
        batch_size: int = Field(default=200, ge=1, le=100_000)
        flush_ms: int = Field(default=200, ge=1, le=60_000)
        queue_size: int = Field(default=20_000, ge=1, le=10_000_000)
        max_text_chars: int = Field(default=8000, ge=0, le=10_000_000)

    max_prompt_chars: int = Field(default=8000, ge=1, le=10_000_000)
    max_tokens_limit: int = Field(default=1024, ge=1, le=1_000_000)
    default_max_tokens: int = Field(default=64, ge=1, le=1_000_000)
    timeout_s: float = Field(default=30.0, gt=0.0, le=3600.0)
    poll_interval_ms: int = Field(default=150, ge=10, le=60_000)
    max_loaded_versions: int = Field(default=8, ge=1, le=1000)
    generation_threads: int = Field(default=16, ge=1, le=1024)
    shadow_concurrency: int = Field(default=2, ge=1, le=256)
    shadow_queue: int = Field(default=64, ge=0, le=100_000)
    refusal_event_interval_s: float = Field(default=60.0, ge=0.0, le=86_400.0)
    request_log: RequestLog = Field(default_factory=RequestLog)

    @model_validator(mode="after")
    def _check_default_tokens(self) -> ServingParams:
        if self.default_max_tokens > self.max_tokens_limit:
            raise ValueError(
                f"default_max_tokens ({self.default_max_tokens}) must not exceed "
                f"max_tokens_limit ({self.max_tokens_limit})"
            )
        return self


class CanaryParams(_Section):
    """``canary``: the stepped rollout and its sequential analysis (issue 7)."""

    METRICS: ClassVar[tuple[str, ...]] = (
        "error_rate",
        "toxicity_rate",
        "pii_rate",
        "guardrail_rate",
        "refusal_rate",
        "quality_rate",
    )

    enabled: bool = True
    gateway_url: str | None = Field(default=None, min_length=1)
    steps: list[Annotated[int, Field(ge=1, le=100)]] = Field(
        default_factory=lambda: [5, 25, 50, 100], min_length=1
    )
    min_requests: int = Field(default=200, ge=1, le=10_000_000)
    min_stable_requests: int = Field(default=50, ge=0, le=10_000_000)
    max_step_duration_s: float = Field(default=1800.0, gt=0.0, le=7 * 86_400.0)
    check_interval_s: float = Field(default=10.0, gt=0.0, le=3600.0)
    alpha: float = Field(default=0.01, gt=0.0, lt=0.5)
    ratios: list[Annotated[float, Field(gt=1.0, le=1000.0)]] = Field(
        default_factory=lambda: [2.0, 3.0, 5.0, 8.0], min_length=1
    )
    allowed_delta: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=lambda: {
            "error_rate": 0.01,
            "toxicity_rate": 0.01,
            "pii_rate": 0.01,
            "guardrail_rate": 0.01,
            "refusal_rate": 0.02,
            "quality_rate": 0.02,
        }
    )
    allowed_ratio: dict[str, Annotated[float, Field(ge=1.0, le=1000.0)]] = Field(
        default_factory=lambda: dict.fromkeys(CanaryParams.METRICS, 2.0)
    )
    toxic_score: float = Field(default=0.5, gt=0.0, lt=1.0)
    max_latency_p95_ratio: float = Field(default=2.0, gt=1.0, le=1000.0)
    latency_slack_ms: float = Field(default=50.0, ge=0.0, le=600_000.0)
    min_latency_samples: int = Field(default=30, ge=1, le=1_000_000)
    inconclusive: Literal["rollback", "promote", "hold"] = "hold"
    replay_rate: float = Field(default=20.0, gt=0.0, le=10_000.0)
    replay_users: int = Field(default=400, ge=1, le=1_000_000)
    live_min_rps: float = Field(default=1.0, ge=0.0, le=1_000_000.0)
    stale_after_s: float = Field(default=600.0, ge=1.0, le=7 * 86_400.0)

    @field_validator("allowed_delta", "allowed_ratio")
    @classmethod
    def _known_metrics(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(cls.METRICS))
        if unknown:
            raise ValueError(f"unknown metric {unknown[0]!r}; allowed: {', '.join(cls.METRICS)}")
        return value

    @field_validator("steps")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(b <= a for a, b in zip(value, value[1:], strict=False)):
            raise ValueError(f"steps {value} must strictly increase")
        return value


class ShadowParams(_Section):
    """``shadow``: the paired shadow comparison and its Evidently drift report (issue 7)."""

    enabled: bool = True
    prompts: int = Field(default=200, ge=10, le=1_000_000)
    replay_rate: float = Field(default=40.0, gt=0.0, le=10_000.0)
    timeout_s: float = Field(default=120.0, gt=0.0, le=86_400.0)
    min_pairs: int = Field(default=50, ge=1, le=1_000_000)
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    toxic_score: float = Field(default=0.5, gt=0.0, lt=1.0)
    max_rate_increase: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=lambda: {
            "toxic": 0.03,
            "pii": 0.02,
            "guardrail_violation": 0.02,
            "empty": 0.05,
            "refusal": 0.10,
        }
    )
    max_mean_toxicity_increase: float = Field(default=0.05, ge=0.0, le=1.0)
    bootstrap_resamples: int = Field(default=1000, ge=100, le=100_000)
    drift_threshold: float = Field(default=0.1, gt=0.0, le=1.0)
    drift_method: Literal["wasserstein", "ks", "psi", "jensenshannon"] = "wasserstein"
    seed: int = Field(default=11, ge=0)


Policy = Literal["alert", "rollback"]


class MonitorParams(_Section):
    """``monitor``: the scheduled monitor and the rescan flow (issue 8).

    ``policy`` maps a model to ``alert`` (record and publish only) or ``rollback`` (also
    roll production back, clear a tampered canary or shadow); models not listed get
    ``default_policy``. Rates are shares in [0, 1] over the recent window of the request
    log's production (``stable``) traffic.
    """

    policy: dict[str, Policy] = Field(default_factory=dict)
    default_policy: Policy = "alert"
    recent_window_s: int = Field(default=3600, ge=1)
    reference_window_s: int = Field(default=86_400, ge=1)
    min_samples: int = Field(default=50, ge=1, le=10_000_000)
    max_rows: int = Field(default=5000, ge=10, le=10_000_000)
    drift_share: float = Field(default=0.5, gt=0.0, le=1.0)
    drift_threshold: float = Field(default=0.01, gt=0.0, lt=1.0)
    toxic_score: float = Field(default=0.5, gt=0.0, lt=1.0)
    max_toxic_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    max_pii_rate: float = Field(default=0.02, ge=0.0, le=1.0)
    max_guardrail_rate: float = Field(default=0.02, ge=0.0, le=1.0)
    max_error_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    rollback_on_rates: bool = True
    stale_canary_s: int = Field(default=3600, ge=1)
    rescan_recent: int = Field(default=2, ge=0, le=100)

    def policy_for(self, model: str) -> Policy:
        return self.policy.get(model, self.default_policy)
