"""Prometheus metrics of one gateway process, on a CollectorRegistry of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from safeship.gateway.routing import Snapshot

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
UNKNOWN = ""  # label value when the request never reached a model or version


class GatewayMetrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry: CollectorRegistry = CollectorRegistry(auto_describe=True)
        r = self.registry
        labels = ["model", "version", "role"]
        self.requests = Counter(
            "safeship_gateway_requests",
            "Requests answered, by model, version, role, endpoint and HTTP status",
            [*labels, "endpoint", "status"],
            registry=r,
        )
        self.errors = Counter(
            "safeship_gateway_errors",
            "Requests that ended in an error, by kind (invalid_value, model_not_found, "
            "adapter_error, timeout, ...)",
            [*labels, "kind"],
            registry=r,
        )
        self.latency = Histogram(
            "safeship_gateway_request_latency_seconds",
            "Time from the request's arrival to its response (whole body for non-streaming)",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.generation = Histogram(
            "safeship_gateway_generation_seconds",
            "Time spent in the adapter",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "safeship_gateway_tokens", "Tokens in and out", [*labels, "direction"], registry=r
        )
        self.shadow = Counter(
            "safeship_gateway_shadow_requests",
            "Requests mirrored to a shadow version, by outcome (ok, error, dropped)",
            ["model", "version", "outcome"],
            registry=r,
        )
        self.loaded = Gauge(
            "safeship_gateway_loaded_version",
            "1 for each version this process serves, by role",
            labels,
            registry=r,
        )
        self.state_seq = Gauge(
            "safeship_gateway_state_seq", "Ledger sequence number the routing follows", registry=r
        )
        self.switches = Counter(
            "safeship_gateway_switches", "Routing snapshots published", ["model"], registry=r
        )
        self.load_refusals = Counter(
            "safeship_gateway_load_refusals",
            "Versions the gateway refused to load (integrity mismatch or load error)",
            ["model", "version", "reason"],
            registry=r,
        )
        self.follow_errors = Counter(
            "safeship_gateway_follow_errors", "Registry polls that failed", registry=r
        )
        self.log_dropped = Counter(
            "safeship_gateway_request_log_dropped",
            "Request-log records dropped because the queue was full or a write failed",
            registry=r,
        )
        self.log_written = Counter(
            "safeship_gateway_request_log_written", "Request-log records committed", registry=r
        )
        self.log_flush = Histogram(
            "safeship_gateway_request_log_flush_seconds",
            "Time to commit one batch of request-log records",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def observe_snapshot(self, snapshot: Snapshot) -> None:
        self.loaded.clear()
        for role, loaded in snapshot.loaded():
            self.loaded.labels(loaded.model, loaded.version, role).set(1)
        self.state_seq.set(snapshot.seq)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
