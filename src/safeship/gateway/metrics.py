"""Prometheus metrics of the gateway, on a CollectorRegistry of their own.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``safeship gateway --workers N`` sets it to a fresh
folder), prometheus_client's multiprocess mode aggregates every worker process: counters
and histograms are summed, ``loaded_version`` is the maximum over live processes and
``state_seq`` the minimum (the laggiest worker). Every sample carries a ``replica`` label
(``$SAFESHIP_REPLICA``, set by the CLI to host:port) so the replicas behind a load balancer
can be told apart.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from safeship.gateway.routing import Snapshot

ENV_REPLICA = "SAFESHIP_REPLICA"
ENV_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


# without $SAFESHIP_REPLICA: a random per-process name (never the hostname or the pid)
_ANONYMOUS_REPLICA = f"replica-{os.urandom(4).hex()}"


def replica_name() -> str:
    return os.environ.get(ENV_REPLICA) or _ANONYMOUS_REPLICA


class _ReplicaLabelled:
    """Re-yields another collector's families with a ``replica`` label on every sample."""

    def __init__(self, source: Any, replica: str) -> None:
        self.source = source
        self.replica = replica

    def collect(self) -> Iterator[Any]:
        for family in self.source.collect():
            family.samples = [
                sample._replace(labels={**sample.labels, "replica": self.replica})
                for sample in family.samples
            ]
            yield family


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_MAX_SERIES = 4096
UNKNOWN = ""  # label value when the request never reached a model or version


class GatewayMetrics:
    def __init__(self) -> None:
        """Declare every Prometheus metric of the gateway. Long on purpose: one
        declaration per metric (name, help text, labels), read as the metrics catalogue."""
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
            multiprocess_mode="livemax",
        )
        self._loaded_labels: set[tuple[str, str, str]] = set()
        self._series: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}
        self._counts: dict[tuple[tuple[str, str, str], str, int], Any] = {}
        self.state_seq = Gauge(
            "safeship_gateway_state_seq",
            "Ledger sequence number the routing follows",
            registry=r,
            multiprocess_mode="livemin",
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

    def count_request(
        self,
        labels: tuple[str, str, str],
        endpoint: str,
        status: int,
        latency_s: float,
        tokens: tuple[int, int] | None,
        error_kind: str | None,
    ) -> None:
        """One answered request; the labelled children are looked up once per label set
        and kept (prometheus_client's ``labels()`` validates and locks on every call)."""
        series = self._series.get(labels)
        if series is None:
            if len(self._series) > _MAX_SERIES:  # bounded: labels come from loaded versions
                self._series.clear()
            series = self._series[labels] = (
                self.latency.labels(*labels),
                self.tokens.labels(*labels, "prompt"),
                self.tokens.labels(*labels, "completion"),
            )
        key = (labels, endpoint, status)
        counter = self._counts.get(key)
        if counter is None:
            if len(self._counts) > _MAX_SERIES:
                self._counts.clear()
            counter = self._counts[key] = self.requests.labels(*labels, endpoint, str(status))
        counter.inc()
        series[0].observe(latency_s)
        if tokens is not None:
            series[1].inc(tokens[0])
            series[2].inc(tokens[1])
        if error_kind is not None:
            self.errors.labels(*labels, error_kind).inc()

    def observe_snapshot(self, snapshot: Snapshot) -> None:
        # set, not clear(): in multiprocess mode a cleared child keeps its file value
        now = {(v.model, v.version, role) for role, v in snapshot.loaded()}
        for labels in self._loaded_labels - now:
            self.loaded.labels(*labels).set(0)
        for labels in now:
            self.loaded.labels(*labels).set(1)
        self._loaded_labels = now
        self.state_seq.set(snapshot.seq)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        source: Any = self.registry
        if os.environ.get(ENV_MULTIPROC_DIR):
            from prometheus_client import multiprocess

            source = CollectorRegistry()
            collector: Any = multiprocess.MultiProcessCollector  # untyped in prometheus_client
            collector(source)
        output = CollectorRegistry(auto_describe=False)
        output.register(_ReplicaLabelled(source, replica_name()))
        return generate_latest(output), CONTENT_TYPE_LATEST
