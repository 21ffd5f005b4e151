"""The serving gateway: OpenAI-compatible endpoints in front of the registry's versions.

* :mod:`.app` — the FastAPI application (``create_app``, ``app_factory`` for workers);
* :mod:`.service` — one request: route, generate with a timeout, mirror, log, measure;
* :mod:`.routing` — immutable routing snapshots and the sticky canary split;
* :mod:`.follower` — follows the registry and loads (verified) versions before switching;
* :mod:`.requestlog` — the batched, queryable request log;
* :mod:`.protocol` — the OpenAI wire format; :mod:`.errors` — OpenAI-style errors;
* :mod:`.metrics` — Prometheus metrics; :mod:`.events` — rate-limited ledger events;
* :mod:`.logs` — text or JSON-lines logging.

Nothing here is imported by ``import safeship``; FastAPI and uvicorn load only when the
gateway starts.
"""
