"""Serving health per model over a recent window, from the gateway's request log.

Requests per second, error rate and p95 latency count every logged request of the
window, read from the writer's per-minute roll-up (``gateway.rollup``). Toxicity and PII rates score the newest ``sample`` answered outputs of the
window with the battery's own scorers (``safety.scorers.score_outputs``) and say how
many were scored; with nothing answered they are ``None`` (unknown), never 0.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from safeship.gateway.requestlog import RequestLog
    from safeship.params import SafetyParams


_PER_QUERY = 100  # (model, version) sample queries per UNION ALL statement
_LOOKBACK = 5_000  # request-log ids re-read on each page: batches that committed out of order


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
    reads and scores only new outputs, all in one batch (the scorer costs ~60 ms a call);
    and each model's newest answered requests, so a page reads only the rows logged since
    the last one."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self.scores: dict[int, tuple[float, bool]] = {}
        # the newest answered requests per model, (ts, id) newest first, as of id ``seen_id``
        self.answered: dict[str, list[tuple[float, int]]] = {}
        self.seen_id = 0
        self.end = 0.0  # the window's end at the last page

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

    Counts, errors and p95 come from the per-minute roll-up the request-log writer keeps
    (``gateway.rollup``: one grouped sum over at most 60 rows per model and version, the
    p95 estimated within one histogram bucket). The newest ``sample`` answered outputs of
    each model are found through the ``(model, version, ts)`` index (one short query per
    version with traffic) the first time, then kept up to date from the rows logged since;
    only outputs not seen before are read and scored (``ScoreCache``).
    """
    from safeship.gateway import rollup

    end = time.time() if now is None else now
    cache = cache or ScoreCache()
    health = {m: Health(model=m, window_s=window_s) for m in models}
    buckets: dict[str, list[int]] = {m: [0] * rollup.BUCKETS for m in models}
    with log.engine.connect() as connection:
        served = [
            t
            for t in rollup.totals(connection, log.minutes, end - window_s, end)
            if t.model in health
        ]
        for total in served:
            h = health[total.model]
            h.requests += total.requests
            h.errors += total.errors
            h.versions[total.version or "—"] = total.requests
            merged = buckets[total.model]
            for index, count in enumerate(total.buckets):
                merged[index] += count
        pairs = [(t.model, t.version) for t in served]
        answered = _sample(connection, log, cache, pairs, end - window_s, end, sample)
    for model, h in health.items():
        h.p95_latency_ms = rollup.percentile_ms(buckets[model], 0.95)
    ids = [i for chosen in answered.values() for i in chosen]
    scores = cache.score(log, ids, safety)
    for model, h in health.items():
        chosen = answered.get(model, [])
        _rates(h, [scores[i] for i in chosen if i in scores], safety)
    return health


def _sample(
    connection: Connection,
    log: RequestLog,
    cache: ScoreCache,
    pairs: list[tuple[str, str | None]],
    start: float,
    end: float,
    limit: int,
) -> dict[str, list[int]]:
    """Ids of each model's newest ``limit`` answered requests in the window.

    The first time (or after a long pause), one indexed query per version with traffic;
    after that only the rows logged since the last page (by id, re-reading the last
    ``_LOOKBACK`` ids for batches that committed late), merged into what the cache holds."""
    from sqlalchemy import func, select

    t = log.table
    top = int(connection.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one())
    moved_back = end < cache.end
    touched: dict[str, dict[int, float]] = {}
    if not cache.answered or moved_back or top - cache.seen_id > max(len(pairs), 1) * limit:
        cache.answered = {}
        touched = _newest_answered(connection, log, pairs, start, end, limit)
    else:
        query = select(t.c.model, t.c.ts, t.c.id).where(
            t.c.id > cache.seen_id - _LOOKBACK, t.c.ts >= start, t.c.ts < end,
            t.c.status < 400, t.c.output.is_not(None),
        )  # fmt: skip
        present = {i for newest in cache.answered.values() for _, i in newest}
        for model, ts, row_id in connection.execute(query).all():
            newest = cache.answered.get(model, [])
            if row_id not in present and (len(newest) < limit or ts > newest[-1][0]):
                touched.setdefault(str(model), {})[int(row_id)] = float(ts)
    cache.seen_id, cache.end = top, end
    for model, rows in touched.items():  # newest first, at most ``limit``
        rows.update((i, ts) for ts, i in cache.answered.get(model, []))
        cache.answered[model] = sorted(((ts, i) for i, ts in rows.items()), reverse=True)[:limit]
    chosen: dict[str, list[int]] = {}
    for model, newest in cache.answered.items():
        while newest and newest[-1][0] < start:  # left the window
            newest.pop()
        chosen[model] = [i for _, i in newest]
    return chosen


def _newest_answered(
    connection: Connection,
    log: RequestLog,
    pairs: list[tuple[str, str | None]],
    start: float,
    end: float,
    limit: int,
) -> dict[str, dict[int, float]]:
    """Each model's newest ``limit`` answered requests in the window (id -> ts).

    One ``ORDER BY ts DESC LIMIT`` per (model, version) with traffic, each walking the
    ``(model, version, ts)`` index backwards, sent ``_PER_QUERY`` at a time as one UNION ALL."""
    from sqlalchemy import select, union_all

    t = log.table
    found: dict[str, dict[int, float]] = {}
    for first in range(0, len(pairs), _PER_QUERY):
        parts = [
            select(t.c.model, t.c.ts, t.c.id)
            .where(t.c.model == model)
            .where(t.c.version.is_(None) if version is None else t.c.version == version)
            .where(t.c.ts >= start, t.c.ts < end, t.c.status < 400, t.c.output.is_not(None))
            .order_by(t.c.ts.desc())
            .limit(limit)
            .subquery()
            for model, version in pairs[first : first + _PER_QUERY]
        ]
        query = union_all(*(select(part.c.model, part.c.ts, part.c.id) for part in parts))
        for model, ts, row_id in connection.execute(query).all():  # one fetch, not per row
            found.setdefault(str(model), {})[int(row_id)] = float(ts)
    return found


def _rates(health: Health, scored: list[tuple[float, bool]], safety: SafetyParams) -> None:
    if health.requests:
        health.requests_per_s = health.requests / health.window_s
        health.error_rate = health.errors / health.requests
    if scored:
        health.scored = len(scored)
        health.toxicity_rate = sum(tox >= safety.toxic_score for tox, _ in scored) / len(scored)
        health.pii_rate = sum(pii for _, pii in scored) / len(scored)
