"""One gateway process: follow the registry, route, generate with a timeout, mirror to the
shadow, log and measure. The FastAPI layer (:mod:`.app`) only speaks HTTP around this.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from safeship.events import EventKind
from safeship.gateway import errors
from safeship.gateway.auth import DISABLED_WARNING, KeyRing, pin_not_allowed
from safeship.gateway.errors import GatewayError
from safeship.gateway.events import RefusalRecorder, replica_id
from safeship.gateway.follower import LoadRefused, StateFollower
from safeship.gateway.metrics import UNKNOWN, GatewayMetrics
from safeship.gateway.preload import Preloader
from safeship.gateway.requestlog import RequestLog, RequestRecord, hash_user
from safeship.gateway.routing import Route, choose, split_model
from safeship.registry.status import DEPLOYABLE

if TYPE_CHECKING:
    from safeship.config import Settings
    from safeship.gateway.protocol import ParsedRequest
    from safeship.gateway.routing import LoadedVersion, Snapshot
    from safeship.models.base import Generation, GenerationRequest
    from safeship.params import ServingParams
    from safeship.registry.apikeys import ApiKey

log = logging.getLogger("safeship.gateway")


@dataclass(frozen=True)
class GatewayConfig:
    """How to run one gateway process."""

    settings: Settings
    params: ServingParams
    request_log: bool = True
    request_log_url: str | None = None
    #: False only with the explicit SAFESHIP_GATEWAY_AUTH=off (the embedded demo)
    auth: bool = True
    metrics_auth: bool = False
    #: load each model's newest approved version ahead of the move (see .preload)
    preload: bool = True


@dataclass
class Call:
    """What is known about one request as it goes (for the response, log and metrics)."""

    endpoint: str
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ts: float = field(default_factory=time.time)
    started: float = field(default_factory=time.perf_counter)
    model: str = ""  # as requested (the log); ``known_model`` only once routed (metrics)
    known_model: str = UNKNOWN
    version: str | None = None
    role: str | None = None
    user: str | None = None
    stream: bool = False
    prompt: str | None = None
    notice: str | None = None  # a deprecation notice for a pinned version on its way out

    def headers(self) -> dict[str, str]:
        out = {"X-Request-Id": self.request_id}
        if self.version is not None and self.role is not None:
            out["X-Safeship-Version"] = self.version
            out["X-Safeship-Role"] = self.role
        if self.notice is not None:
            out["Deprecation"] = "true"
            out["X-Safeship-Deprecation"] = self.notice
        return out


class Gateway:
    """The serving core of one process (see the module docstring)."""

    def __init__(self, config: GatewayConfig) -> None:
        from safeship.registry.store import Registry

        self.config = config
        self.params = config.params
        self.registry = Registry.open(config.settings, create=False)
        self.metrics = GatewayMetrics()
        self.recorder = RefusalRecorder(self.registry, self.params.refusal_event_interval_s)
        self.follower = StateFollower(
            self.registry,
            self.params,
            recorder=self.recorder,
            metrics=self.metrics,
            on_switch=self._switched,
        )
        self.requests: RequestLog | None = None
        if config.request_log and self.params.request_log.enabled:
            self.requests = RequestLog.open(
                config.settings, self.params, self.metrics, url=config.request_log_url
            )
        self.pool = ThreadPoolExecutor(self.params.generation_threads, "safeship-generate")
        self.shadow_pool = ThreadPoolExecutor(self.params.shadow_concurrency, "safeship-shadow")
        self._shadow_lock = threading.Lock()
        self._shadow_pending = 0
        self.replica = replica_id()
        self.preloader: Preloader | None = None
        if config.preload:
            self.preloader = Preloader(self.follower, self.params.poll_interval_ms / 1000)
        self.keys: KeyRing | None = None
        if config.auth:
            self.keys = KeyRing(self.registry, self.params.poll_interval_ms / 1000)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self.keys is not None:
            self.keys.start()
        else:
            log.warning(DISABLED_WARNING)
        if self.requests is not None:
            self.requests.start()
        self.follower.start()
        if self.preloader is not None:
            self.preloader.start()
        log.info(
            "gateway following the registry",
            extra={
                "seq": self.follower.snapshot.seq,
                "models": self.follower.snapshot.served_models(),
                "replica": self.replica,
            },
        )

    def stop(self) -> None:
        if self.keys is not None:
            self.keys.stop()
        if self.preloader is not None:
            self.preloader.stop()
        self.follower.stop()
        self.shadow_pool.shutdown(wait=True, cancel_futures=True)
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self.requests is not None:
            self.requests.close()
        self.recorder.close()
        self.registry.close()

    @property
    def snapshot(self) -> Snapshot:
        return self.follower.snapshot

    def _switched(self, old: Snapshot, new: Snapshot) -> None:
        for name, routes in new.models.items():
            before = old.models.get(name)
            now = (routes.stable, routes.canary, routes.canary_weight, routes.shadow)
            then = (
                (before.stable, before.canary, before.canary_weight, before.shadow)
                if before
                else None
            )
            if then != now:
                self.metrics.switches.labels(name).inc()
                log.info(
                    "routing switched",
                    extra={
                        "model": name,
                        "seq": new.seq,
                        "stable": routes.stable.version if routes.stable else None,
                        "canary": routes.canary.version if routes.canary else None,
                        "canary_weight": routes.canary_weight,
                        "shadow": routes.shadow.version if routes.shadow else None,
                    },
                )

    # ------------------------------------------------------------------ serving
    def authenticate(self, header: str | None) -> ApiKey | None:
        """The caller's key (None when auth is off); raises a 401 :class:`GatewayError`."""
        return None if self.keys is None else self.keys.authenticate(header)

    def route(
        self,
        call: Call,
        parsed: ParsedRequest,
        pin_header: str | None,
        user_header: str | None,
        key: ApiKey | None = None,
    ) -> Route:
        model, pin = split_model(parsed.model)
        call.model = model
        if pin_header:
            if pin is not None and pin != pin_header:
                raise errors.invalid(
                    f"the model names version {pin} but the X-Safeship-Version header names "
                    f"{pin_header}; pin one version",
                    param="model",
                )
            pin = pin_header
        user = parsed.user or user_header or None
        if key is None:
            call.user = user
        else:  # the key is the identity; a declared user only subdivides its own key
            if pin is not None and not key.can_pin:
                raise pin_not_allowed(key.name)
            if pin is None and key.pin_model == model:
                pin = key.pin_version  # the key's opt-out from newer versions
            call.user = key.name if user is None else f"{key.name}/{user}"
        snapshot = self.follower.snapshot
        if model in snapshot.models:
            call.known_model = model
            if pin is not None and snapshot.models[model].statuses.get(pin) == "retired":
                call.notice = (
                    f"{model}@{pin} is retired and will stop being served when it is no longer "
                    "deployable; move to the production version"
                )
        try:
            return choose(snapshot, model, caller=call.user, pin=pin, deployable=DEPLOYABLE)
        except GatewayError as error:
            if error.code == "version_not_deployable":
                self.recorder.record(
                    EventKind.GATEWAY_PIN_REFUSED,
                    model=model,
                    version=pin,
                    payload={
                        "reason": error.message,
                        "status": snapshot.models[model].statuses.get(pin or ""),
                    },
                )
            raise

    async def serve(
        self,
        call: Call,
        parsed: ParsedRequest,
        pin_header: str | None,
        user_header: str | None,
        key: ApiKey | None = None,
    ) -> list[Generation]:
        """Route and generate; raises :class:`GatewayError` for every refusal or failure."""
        from safeship.models.base import GenerationRequest

        route = self.route(call, parsed, pin_header, user_header, key)
        call.version, call.role = route.version, route.role
        loop = asyncio.get_running_loop()
        target = route.target
        if target is None:  # a pinned version the deployment does not hold: load it now
            try:
                target = await loop.run_in_executor(
                    self.pool, self.follower.load_pinned, route.model, route.version
                )
            except LoadRefused as error:
                raise errors.unavailable(str(error), code="version_refused") from error
        request = GenerationRequest(
            max_new_tokens=parsed.max_tokens,
            temperature=parsed.temperature,
            seed=parsed.seed,
            system_prompt=parsed.system_prompt,
        )
        # an adapter with a coroutine path (openai) runs on this loop; others in the pool
        agenerate = getattr(target.generator, "agenerate", None)
        began = time.perf_counter()
        try:
            async with asyncio.timeout(self.params.timeout_s):  # no extra task, unlike wait_for
                if agenerate is not None:
                    generations: list[Generation] = await agenerate(parsed.prompts, request)
                else:
                    generations = await loop.run_in_executor(
                        self.pool, target.generator.generate, parsed.prompts, request
                    )
        except TimeoutError as error:
            raise errors.timed_out(route.model, route.version, self.params.timeout_s) from error
        except Exception as error:  # noqa: BLE001 - an adapter that raises answers 502
            raise errors.upstream_failed(
                route.model, route.version, f"{type(error).__name__}: {error}"
            ) from error
        self.metrics.generation.labels(route.model, route.version, route.role).observe(
            time.perf_counter() - began
        )
        failed = next((g for g in generations if g.error is not None), None)
        if failed is not None:
            raise errors.upstream_failed(route.model, route.version, str(failed.error))
        if route.shadow is not None:
            self.mirror(route.shadow, parsed, request, call)
        return generations

    # ------------------------------------------------------------------ shadow
    def mirror(
        self, shadow: LoadedVersion, parsed: ParsedRequest, request: GenerationRequest, call: Call
    ) -> None:
        """Run the request on the shadow version in the background; never waits."""
        with self._shadow_lock:
            if self._shadow_pending >= self.params.shadow_queue + self.params.shadow_concurrency:
                self.metrics.shadow.labels(shadow.model, shadow.version, "dropped").inc()
                return
            self._shadow_pending += 1
        try:
            self.shadow_pool.submit(self._shadow, shadow, parsed, request, call)
        except RuntimeError:  # shutting down
            with self._shadow_lock:
                self._shadow_pending -= 1

    def _shadow(
        self, shadow: LoadedVersion, parsed: ParsedRequest, request: GenerationRequest, call: Call
    ) -> None:
        ts, began = time.time(), time.perf_counter()
        shadow_call = Call(
            endpoint=call.endpoint,
            request_id=call.request_id,
            ts=ts,
            started=began,
            model=shadow.model,
            known_model=shadow.model,
            version=shadow.version,
            role="shadow",
            user=call.user,
            stream=parsed.stream,
            prompt=parsed.logged_prompt,
        )
        try:
            generations = shadow.generator.generate(parsed.prompts, request)
            failed = next((g for g in generations if g.error is not None), None)
            error = (
                None
                if failed is None
                else errors.upstream_failed(shadow.model, shadow.version, str(failed.error))
            )
            self.metrics.shadow.labels(
                shadow.model, shadow.version, "error" if error else "ok"
            ).inc()
            self.finish(
                shadow_call, error.status if error else 200, generations=generations, error=error
            )
        except Exception as exc:  # noqa: BLE001 - a shadow failure never reaches the caller
            self.metrics.shadow.labels(shadow.model, shadow.version, "error").inc()
            error = errors.upstream_failed(
                shadow.model, shadow.version, f"{type(exc).__name__}: {exc}"
            )
            self.finish(shadow_call, error.status, error=error)
        finally:
            with self._shadow_lock:
                self._shadow_pending -= 1

    # ------------------------------------------------------------------ accounting
    def finish(
        self,
        call: Call,
        status: int,
        *,
        generations: list[Generation] | None = None,
        error: GatewayError | None = None,
    ) -> float:
        """Metrics, the request log and a log line for one answered request; the latency."""
        latency = time.perf_counter() - call.started
        model, version, role = call.known_model, call.version or UNKNOWN, call.role or UNKNOWN
        if call.known_model == UNKNOWN:
            version = role = UNKNOWN
        prompt_tokens = completion_tokens = None
        if generations:
            prompt_tokens = sum(g.prompt_tokens for g in generations)
            completion_tokens = sum(g.completion_tokens for g in generations)
        self.metrics.count_request(
            (model, version, role),
            call.endpoint,
            status,
            latency,
            None if prompt_tokens is None else (prompt_tokens, completion_tokens or 0),
            None if error is None else error.kind,
        )
        if self.requests is not None:
            self.requests.submit(
                RequestRecord(
                    request_id=call.request_id,
                    ts=call.ts,
                    model=call.model[:200],
                    version=call.version,
                    role=call.role,
                    endpoint=call.endpoint,
                    user_hash=hash_user(call.user),
                    prompt=call.prompt,
                    output="\n".join(g.text for g in generations) if generations else None,
                    latency_ms=latency * 1000,
                    status=status,
                    error=error.message if error is not None else None,
                    error_type=error.kind if error is not None else None,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    stream=call.stream,
                    replica=self.replica,
                )
            )
        fields: dict[str, Any] = {
            "request_id": call.request_id,
            "endpoint": call.endpoint,
            "model": call.model,
            "version": call.version,
            "role": call.role,
            "status": status,
            "latency_ms": round(latency * 1000, 2),
        }
        if error is not None:
            fields["error"] = error.kind
            level = logging.ERROR if status >= 500 else logging.WARNING
            log.log(level, "request failed: %s", error.message, extra=fields)
        elif log.isEnabledFor(logging.INFO):
            log.info("request", extra=fields)
        return latency
