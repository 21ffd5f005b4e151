"""What a drill holds while it runs: options, the traffic thread, the staging gateway's
view of routing, and the run's state (the fault's onset, sabotage)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from safeship.drills.scenarios import ACTOR, Candidate

if TYPE_CHECKING:
    from safeship.drills.staging import StagingGateway
    from safeship.gateway.requestlog import RequestLog
    from safeship.params import CanaryParams, Params
    from safeship.registry.store import Registry
    from safeship.testing.traffic import TrafficSummary


class DrillOptions(BaseModel):
    """How a drill runs. Canary analysis uses production's ``canary`` policy (alpha,
    ratios, allowed deltas, latency bounds) with the steps and sample sizes here, so a
    drill takes seconds rather than a real rollout's minutes."""

    rate: float = Field(default=40.0, gt=0, le=1000)
    users: int = Field(default=500, ge=1)
    steps: list[int] = Field(default_factory=lambda: [25, 100], min_length=1)
    min_requests: int = Field(default=100, ge=1)
    min_stable_requests: int = Field(default=20, ge=0)
    check_interval_s: float = Field(default=0.5, gt=0, le=60)
    max_detect_s: float = Field(default=60.0, gt=0, le=3600)
    max_revert_s: float = Field(default=15.0, gt=0, le=600)
    settle_s: float = Field(default=1.0, ge=0, le=60)
    error_rate: float = Field(default=0.5, gt=0, le=1)
    latency_s: float = Field(default=0.4, gt=0, le=30)
    toxic_rate: float = Field(default=0.5, gt=0, le=1)
    reference_s: float = Field(default=5.0, gt=0, le=600)
    drift_min_samples: int = Field(default=30, ge=5)
    break_follow: bool = False  # sabotage: the staging gateway stops following the registry
    disable_detection: bool = False  # sabotage: the analysis / monitor never reports
    keep_artifacts: bool = False


@dataclass
class Detection:
    at: float | None = None
    by: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    reverted_by: str | None = None
    expect_status: str = "rejected"
    gaps: list[str] = field(default_factory=list)
    not_acted: str | None = None  # detected, but the shipped code took no action (why)


class DrillTraffic:
    """The real traffic generator in a background thread; prompts can be switched."""

    def __init__(self, url: str, model: str, options: DrillOptions) -> None:
        self.url, self.model, self.options = url, model, options
        self.summaries: list[TrafficSummary] = []
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._seed = 0

    def start(self, prompts: list[str]) -> None:
        from safeship.testing.traffic import TrafficConfig, run_traffic

        self.stop()
        stop = threading.Event()
        config = TrafficConfig(
            url=self.url, model=self.model, rate=self.options.rate, duration_s=3600,
            prompts=prompts, users=self.options.users, seed=self._seed, user_prefix="drill",
            max_tokens=24,
        )  # fmt: skip
        self._seed += 100_000

        def run() -> None:
            self.summaries.append(run_traffic(config, stop))

        self._stop, self._thread = stop, threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._stop is not None and self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=60)
        self._stop = self._thread = None

    def summary(self) -> dict[str, Any]:
        sent = sum(s.sent for s in self.summaries)
        return {
            "sent": sent,
            "ok": sum(s.ok for s in self.summaries),
            "errors": sum(s.errors for s in self.summaries),
            "phases": [s.as_dict() for s in self.summaries],
        }


def gateway_health_of(url: str) -> dict[str, Any]:
    from safeship.canary.runtime import gateway_health

    return gateway_health(url, timeout_s=5.0)


def routes_of(url: str, model: str) -> dict[str, Any]:
    routes: dict[str, Any] = (gateway_health_of(url).get("models") or {}).get(model) or {}
    return routes


def serves_canary(routes: dict[str, Any], version: str) -> bool:
    canary = (routes.get("canary") or {}).get("version")
    return canary == version and int(routes.get("canary_weight") or 0) > 0


def wait_stable(url: str, model: str, version: str, timeout_s: float = 60.0) -> None:
    from safeship.canary.runtime import GatewayUnreachable

    deadline = time.monotonic() + timeout_s
    routes: dict[str, Any] = {}
    while time.monotonic() < deadline:
        routes = routes_of(url, model)
        if (routes.get("stable") or {}).get("version") == version:
            return
        time.sleep(0.05)
    raise GatewayUnreachable(
        f"the staging gateway did not serve {model} {version} within {timeout_s:g} s: {routes}"
    )


def canary_params(params: Params, options: DrillOptions) -> CanaryParams:
    return params.canary.model_copy(
        update={
            "steps": list(options.steps),
            "min_requests": options.min_requests,
            "min_stable_requests": options.min_stable_requests,
            "check_interval_s": options.check_interval_s,
        }
    )


@dataclass
class DrillRun:
    """What one drill holds while it runs."""

    model: str
    scenario: str
    options: DrillOptions
    params: Params
    staging: Registry
    gateway: StagingGateway
    log: RequestLog
    traffic: DrillTraffic
    production: str
    candidate: Candidate
    fault_at: float | None = None
    broken: bool = False

    def onset(self) -> None:
        """The fault is live now; sabotage the stack if the options say so."""
        self.fault_at = time.time()
        if self.options.break_follow:
            self.gateway.stop_following()
            self.broken = True

    def timed_out(self) -> bool:
        return self.fault_at is not None and time.time() - self.fault_at > self.options.max_detect_s

    def set_canary(self, weight: int) -> None:
        from safeship.canary.runtime import wait_for_routing

        self.staging.set_canary(
            self.model, self.candidate.version, weight, actor=ACTOR,
            reason=f"drill canary step {weight}%",
        )  # fmt: skip
        if not self.broken:
            wait_for_routing(
                self.gateway.url, self.model, canary=(self.candidate.version, weight),
                timeout_s=30,
            )  # fmt: skip
