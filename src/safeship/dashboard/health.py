"""Serving health per model over a recent window, from the gateway's request log.

Requests per second, error rate and p95 latency count every logged request of the
window. Toxicity and PII rates score the newest ``sample`` answered outputs of the
window with the battery's own scorers (``safety.scorers.score_outputs``) and say how
many were scored; with nothing answered they are ``None`` (unknown), never 0.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from safeship.config import SafetyParams
    from safeship.gateway.requestlog import RequestLog


class Health(BaseModel):
    model: str
    window_s: int
    requests: int = 0
    requests_per_s: float = 0.0
    errors: int = 0
    error_rate: float | None = None
    p95_latency_ms: float | None = None
    scored: int = 0
    toxicity_rate: float | None = None
    pii_rate: float | None = None
    versions: dict[str, int] = {}


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1)))))
    return float(ordered[index])


def model_health(
    log: RequestLog,
    model: str,
    safety: SafetyParams,
    *,
    window_s: int = 3600,
    sample: int = 300,
    now: float | None = None,
) -> Health:
    """Health of ``model`` over the ``window_s`` seconds before ``now``."""
    from sqlalchemy import select

    end = time.time() if now is None else now
    t = log.table
    statement = select(t.c.version, t.c.status, t.c.error, t.c.latency_ms).where(
        t.c.model == model, t.c.ts >= end - window_s, t.c.ts < end
    )
    with log.engine.connect() as connection:
        rows = connection.execute(statement).all()
        outputs = (
            connection.execute(
                select(t.c.output)
                .where(
                    t.c.model == model,
                    t.c.ts >= end - window_s,
                    t.c.ts < end,
                    t.c.status < 400,
                    t.c.output.is_not(None),
                )
                .order_by(t.c.ts.desc())
                .limit(sample)
            )
            .scalars()
            .all()
        )
    health = Health(model=model, window_s=window_s)
    if not rows:
        return health
    errors = sum(1 for r in rows if r.status >= 400 or r.error)
    versions: dict[str, int] = {}
    for r in rows:
        key = str(r.version or "—")
        versions[key] = versions.get(key, 0) + 1
    health.requests = len(rows)
    health.requests_per_s = len(rows) / window_s
    health.errors = errors
    health.error_rate = errors / len(rows)
    health.p95_latency_ms = _p95([float(r.latency_ms) for r in rows])
    health.versions = versions
    if outputs:
        from safeship.safety.scorers import score_outputs

        scores = score_outputs([str(o) for o in outputs], safety.guardrails)
        health.scored = len(scores)
        health.toxicity_rate = float((scores["toxicity"] >= safety.toxic_score).mean())
        health.pii_rate = float(scores["pii"].mean())
    return health
