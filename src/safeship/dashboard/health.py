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
    from safeship.gateway.requestlog import RequestLog
    from safeship.params import SafetyParams


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


class ScoreCache:
    """Scores of logged responses already seen, by request-log row id (bounded), so a page
    reads and scores only new outputs, all in one batch (the scorer costs ~60 ms a call)."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self.scores: dict[int, tuple[float, bool]] = {}

    def score(
        self, log: RequestLog, ids: list[int], safety: SafetyParams
    ) -> dict[int, tuple[float, bool]]:
        new = [i for i in ids if i not in self.scores]
        if new:
            from sqlalchemy import select

            from safeship.safety.scorers import score_outputs

            if len(self.scores) + len(new) > self.limit:
                self.scores.clear()
            t = log.table
            texts: dict[int, str] = {}
            with log.engine.connect() as connection:
                for start in range(0, len(new), 900):
                    chunk = new[start : start + 900]
                    query = select(t.c.id, t.c.output).where(t.c.id.in_(chunk))
                    texts.update((int(i), str(o)) for i, o in connection.execute(query).all())
            order = list(texts)
            scored = score_outputs([texts[i] for i in order], safety.guardrails)
            for row_id, tox, pii in zip(order, scored["toxicity"], scored["pii"], strict=True):
                self.scores[row_id] = (float(tox), bool(pii))
        return {i: self.scores[i] for i in ids if i in self.scores}


def health_of(
    log: RequestLog,
    models: list[str],
    safety: SafetyParams,
    *,
    window_s: int = 3600,
    sample: int = 300,
    now: float | None = None,
    cache: ScoreCache | None = None,
) -> dict[str, Health]:
    """Health of each of ``models`` over the ``window_s`` seconds before ``now``.

    Counts are aggregated in SQL (one grouped query), p95 is one ``ORDER BY ...
    LIMIT 1 OFFSET k`` per model with traffic, the newest ``sample`` answered outputs per
    model are chosen by one ranked query, and only outputs not seen before are read and
    scored (``ScoreCache``).
    """
    from sqlalchemy import case, func, or_, select

    end = time.time() if now is None else now
    t = log.table
    in_window = (t.c.ts >= end - window_s, t.c.ts < end)
    failed = case((or_(t.c.status >= 400, t.c.error.is_not(None)), 1), else_=0)
    health = {m: Health(model=m, window_s=window_s) for m in models}
    answered: dict[str, list[int]] = {m: [] for m in models}
    with log.engine.connect() as connection:
        grouped = select(t.c.model, t.c.version, func.count(), func.sum(failed))
        for model, version, count, errors in connection.execute(
            grouped.where(*in_window).group_by(t.c.model, t.c.version)
        ):
            if model in health:
                h = health[model]
                h.requests += int(count)
                h.errors += int(errors or 0)
                h.versions[str(version or "—")] = int(count)
        for h in health.values():
            if h.requests:
                h.p95_latency_ms = connection.execute(
                    select(t.c.latency_ms).where(t.c.model == h.model, *in_window)
                    .order_by(t.c.latency_ms).limit(1).offset(_p95_index(h.requests))
                ).scalar()  # fmt: skip
        rank = func.row_number().over(partition_by=t.c.model, order_by=t.c.ts.desc())
        ranked = (
            select(t.c.model, t.c.id, rank.label("rank"))
            .where(*in_window, t.c.status < 400, t.c.output.is_not(None))
            .subquery()
        )
        for model, row_id in connection.execute(
            select(ranked.c.model, ranked.c.id).where(ranked.c.rank <= sample)
        ).all():
            if model in answered:
                answered[model].append(int(row_id))
    ids = [i for chosen in answered.values() for i in chosen]
    scores = (cache or ScoreCache()).score(log, ids, safety)
    for model, h in health.items():
        _rates(h, [scores[i] for i in answered[model] if i in scores], safety)
    return health


def _p95_index(n: int) -> int:
    """Index of the 95th percentile in ``n`` sorted values (nearest rank)."""
    return max(0, min(n - 1, int(round(0.95 * (n - 1)))))


def _rates(health: Health, scored: list[tuple[float, bool]], safety: SafetyParams) -> None:
    if health.requests:
        health.requests_per_s = health.requests / health.window_s
        health.error_rate = health.errors / health.requests
    if scored:
        health.scored = len(scored)
        health.toxicity_rate = sum(tox >= safety.toxic_score for tox, _ in scored) / len(scored)
        health.pii_rate = sum(pii for _, pii in scored) / len(scored)
