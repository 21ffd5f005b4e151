"""The FastAPI application: OpenAI-compatible endpoints, ``/healthz`` and ``/metrics``.

``create_app(config)`` builds an app around one :class:`~safeship.gateway.service.Gateway`;
``app_factory()`` builds one from the environment, for ``uvicorn --factory`` with several
workers (each worker is a process that follows the registry on its own).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response  # route signatures are resolved at runtime

from safeship.gateway import errors, intake, protocol
from safeship.gateway.auth import ENV_AUTH, ENV_METRICS_AUTH
from safeship.gateway.errors import GatewayError
from safeship.gateway.service import Call, Gateway, GatewayConfig

ENV_NO_REQUEST_LOG = "SAFESHIP_GATEWAY_NO_REQUEST_LOG"
ENV_REQUEST_LOG_URL = "SAFESHIP_GATEWAY_REQUEST_LOG_URL"
ENV_LOG_FORMAT = "SAFESHIP_GATEWAY_LOG_FORMAT"
ENV_LOG_LEVEL = "SAFESHIP_GATEWAY_LOG_LEVEL"
PIN_HEADER = "x-safeship-version"
USER_HEADER = "x-safeship-user"
_REPLICA_SALT = os.urandom(16).hex()  # per process: /healthz ids reveal no host or pid


def create_app(config: GatewayConfig) -> FastAPI:
    """The gateway's ASGI app. Long on purpose: it is the route table (each route a few
    lines that call ``GatewayService``) and the error handlers, kept in one place so the
    whole HTTP surface reads at a glance."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    gateway = Gateway(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(gateway.start)
        try:
            yield
        finally:
            await asyncio.to_thread(gateway.stop)

    app = FastAPI(
        title="safeship gateway",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.gateway = gateway

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        kind = errors.NOT_FOUND if exc.status_code == 404 else errors.INVALID_REQUEST
        body = errors.error_body(str(exc.detail), kind, None, f"http_{exc.status_code}")
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> Response:
        return JSONResponse(errors.invalid(str(exc)).body(), status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        import logging

        logging.getLogger("safeship.gateway").error("unexpected error", exc_info=exc)
        body = errors.error_body(
            f"internal error: {type(exc).__name__}", errors.SERVER, None, "internal_error"
        )
        return JSONResponse(body, status_code=500)

    async def completions(request: Request) -> Response:
        return await _generate(gateway, request, "completions")

    async def chat_completions(request: Request) -> Response:
        return await _generate(gateway, request, "chat")

    # plain Starlette routes: the hot path skips FastAPI's per-request dependency solving
    app.add_route("/v1/completions", completions, methods=["POST"])
    app.add_route("/v1/chat/completions", chat_completions, methods=["POST"])

    @app.get("/v1/models")
    async def list_models(request: Request) -> Response:
        try:
            gateway.authenticate(request.headers.get("authorization"))
        except GatewayError as error:
            return _json(error.body(), error.status, {})
        return JSONResponse(_models(gateway))

    @app.get("/healthz")
    async def healthz() -> Response:
        body = _health(gateway)
        return JSONResponse(body, status_code=503 if body["status"] == "starting" else 200)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        from fastapi.responses import Response as PlainResponse

        if config.metrics_auth:
            try:
                gateway.authenticate(request.headers.get("authorization"))
            except GatewayError as error:
                return _json(error.body(), error.status, {})
        payload, content_type = gateway.metrics.render()
        return PlainResponse(payload, media_type=content_type)

    return app


async def _generate(gateway: Gateway, request: Request, endpoint: protocol.Endpoint) -> Response:
    from fastapi.responses import StreamingResponse

    call = Call(endpoint=endpoint)
    try:
        key = gateway.authenticate(request.headers.get("authorization"))
        limit = gateway.params.max_prompt_chars * 4 + 65_536  # bytes: UTF-8 and JSON overhead
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise GatewayError(
                f"The request body is {length} bytes; the limit is {limit} "
                f"(from serving.max_prompt_chars={gateway.params.max_prompt_chars}).",
                status=413,
                code="request_too_large",
            )
        # the hardened intake (size-limited read, depth limit, clean strings) decodes; the
        # pydantic request models then type-check the decoded object once
        body = intake.decode(await intake.read_limited(request, limit))
        parse = protocol.parse_chat if endpoint == "chat" else protocol.parse_completion
        parsed = parse(body, gateway.params)
        call.stream, call.prompt, call.model = parsed.stream, parsed.logged_prompt, parsed.model
        generations = await gateway.serve(
            call, parsed, request.headers.get(PIN_HEADER), request.headers.get(USER_HEADER), key
        )
    except GatewayError as error:
        gateway.finish(call, error.status, error=error)
        return _json(error.body(), error.status, call.headers())
    served = f"{call.model}@{call.version}"
    created = int(call.ts)
    rid = ("chatcmpl-" if endpoint == "chat" else "cmpl-") + call.request_id
    headers = call.headers()
    gateway.finish(call, 200, generations=generations)
    if parsed.stream:
        events = protocol.stream_events(parsed, rid, created, served, generations)
        headers["Cache-Control"] = "no-cache"
        return StreamingResponse(_aiter(events), media_type="text/event-stream", headers=headers)
    return _json(protocol.response(parsed, rid, created, served, generations), 200, headers)


def _json(body: dict[str, Any], status: int, headers: dict[str, str]) -> Response:
    """A JSON response encoded once with orjson (JSONResponse re-encodes with the stdlib)."""
    return Response(protocol.dumps(body), status, headers, "application/json")


async def _aiter(chunks: Any) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _describe(loaded: Any) -> dict[str, Any] | None:
    if loaded is None:
        return None
    return {
        "version": loaded.version,
        "dir_hash": loaded.dir_hash,
        "adapter": loaded.adapter,
        "loaded_at": loaded.loaded_at,
    }


def _models(gateway: Gateway) -> dict[str, Any]:
    from safeship.registry.status import DEPLOYABLE

    snapshot = gateway.snapshot
    data: list[dict[str, Any]] = []
    for name in sorted(snapshot.models):
        routes = snapshot.models[name]
        if routes.stable is not None:
            data.append({
                "id": name, "object": "model", "created": int(routes.stable.loaded_at),
                "owned_by": "safeship", "version": routes.stable.version, "role": "stable",
            })  # fmt: skip
        for version, status in routes.statuses.items():
            if status in DEPLOYABLE:
                data.append({
                    "id": f"{name}@{version}", "object": "model", "created": 0,
                    "owned_by": "safeship", "version": version, "status": status,
                })  # fmt: skip
    return {"object": "list", "data": data}


def _health(gateway: Gateway) -> dict[str, Any]:
    """Health without internals: no database host, port or name, hostname or pid."""
    follower = gateway.follower
    snapshot = gateway.snapshot
    models: dict[str, Any] = {}
    problems = _problems(gateway)
    for name, routes in sorted(snapshot.models.items()):
        if routes.wanted:
            problems.append(f"{name}: a wanted version is not loaded")
        models[name] = {
            "stable": _describe(routes.stable),
            "canary": _describe(routes.canary),
            "canary_weight": routes.canary_weight,
            "shadow": _describe(routes.shadow),
            "not_loaded": dict(routes.wanted),
        }
    status = "starting" if snapshot.seq < 0 else "degraded" if problems else "ok"
    log = gateway.requests
    return {
        "status": status,
        "problems": problems,
        "replica": _opaque_replica(gateway),
        "seq": snapshot.seq,
        "last_poll_age_s": None if follower.last_poll_ok is None else round(time.time() - follower.last_poll_ok, 3),
        "models": models,
        "loaded": [
            {"model": v.model, "version": v.version, "role": role, "dir_hash": v.dir_hash}
            for role, v in snapshot.loaded()
        ],
        "request_log": None if log is None else log.health(),
    }  # fmt: skip


def _opaque_replica(gateway: Gateway) -> str:
    """A per-process id that tells replicas apart without naming the host or the pid."""
    import hashlib

    return hashlib.sha256(f"{_REPLICA_SALT}{gateway.replica}".encode()).hexdigest()[:12]


def _problems(gateway: Gateway) -> list[str]:
    """Why the gateway is degraded, in words that reveal nothing about the deployment."""
    problems: list[str] = []
    if gateway.follower.last_error is not None:
        problems.append("registry unreachable: serving the last known state")
    settings = gateway.config.settings
    if settings.is_sqlite and not os.path.exists(settings.db_url.split("///", 1)[-1]):
        problems.append("registry file missing: serving the last known state")
    problems += [f"refused: {why}" for why in gateway.follower.unexplained.values()]
    log = gateway.requests
    if log is not None and log.failing:
        problems.append("request log unwritable: records are retried, then dropped and counted")
    return problems


def config_from_env() -> GatewayConfig:
    """The gateway's configuration from the project, ``params.yaml`` and the environment."""
    from safeship.config import Settings, apply_offline_env
    from safeship.params import load_params

    settings = Settings.from_env()
    params = load_params(settings.project_root).serving
    apply_offline_env(settings.state_dir)
    return GatewayConfig(
        settings=settings,
        params=params,
        request_log=os.environ.get(ENV_NO_REQUEST_LOG, "") not in ("1", "true", "yes"),
        request_log_url=os.environ.get(ENV_REQUEST_LOG_URL) or None,
        auth=_auth_setting(os.environ.get(ENV_AUTH, "on")),
        metrics_auth=os.environ.get(ENV_METRICS_AUTH, "") in ("1", "true", "yes", "on"),
    )


def _auth_setting(value: str) -> bool:
    """``SAFESHIP_GATEWAY_AUTH``: on (default) or off; anything else is refused."""
    from safeship.errors import ConfigError

    if value.strip().lower() in ("on", "1", "true", "yes", ""):
        return True
    if value.strip().lower() in ("off", "0", "false", "no"):
        return False
    raise ConfigError(f"{ENV_AUTH}={value!r}: use 'on' (the default) or 'off' (demo only)")


def app_factory() -> FastAPI:
    """For ``uvicorn --factory safeship.gateway.app:app_factory`` (one call per worker)."""
    from safeship.gateway.logs import configure

    fmt = os.environ.get(ENV_LOG_FORMAT, "text")
    configure("json" if fmt == "json" else "text", os.environ.get(ENV_LOG_LEVEL, "INFO"))
    return create_app(config_from_env())
