"""What the shadow and canary tasks need around the analysis: the gateway's URL and
routing, the request log's windows, and prompts to replay when there is no live traffic.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from safeship.errors import ExternalToolError

if TYPE_CHECKING:
    import pandas as pd

    from safeship.config import Settings
    from safeship.gateway.requestlog import RequestLog
    from safeship.params import Params

ENV_GATEWAY_URL = "SAFESHIP_GATEWAY_URL"
DEFAULT_GATEWAY_URL = "http://127.0.0.1:8700"


class GatewayUnreachable(ExternalToolError):
    """The gateway the canary needs did not answer."""


def gateway_url(params: Params) -> str:
    """``canary.gateway_url`` in params.yaml, else ``$SAFESHIP_GATEWAY_URL``, else 8700."""
    return (
        params.canary.gateway_url or os.environ.get(ENV_GATEWAY_URL) or DEFAULT_GATEWAY_URL
    ).rstrip("/")


def gateway_health(url: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """The gateway's ``/healthz`` body, or :class:`GatewayUnreachable` saying what to do."""
    import httpx

    try:
        response = httpx.get(f"{url}/healthz", timeout=timeout_s)
        body: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise GatewayUnreachable(
            f"the gateway at {url} is unreachable ({type(error).__name__}: {error}); shadow and "
            f"canary need it: start it (`safeship gateway`), point canary.gateway_url or "
            f"${ENV_GATEWAY_URL} at it, or set canary.enabled: false in params.yaml"
        ) from error
    return body


def wait_for_routing(
    url: str,
    model: str,
    *,
    canary: tuple[str | None, int] | None = None,
    shadow: str | None | bool = False,
    timeout_s: float = 30.0,
) -> None:
    """Wait until the gateway serves ``canary=(version, weight)`` and/or ``shadow=version``
    (``False``: do not check the shadow)."""
    deadline = time.monotonic() + timeout_s
    seen: Any = None
    while time.monotonic() < deadline:
        seen = (gateway_health(url).get("models") or {}).get(model) or {}
        ok = True
        if canary is not None:
            version, weight = canary
            loaded = (seen.get("canary") or {}).get("version")
            ok = (
                ok
                and loaded == version
                and (version is None or seen.get("canary_weight") == weight)
            )
        if shadow is not False:
            ok = ok and (seen.get("shadow") or {}).get("version") == shadow
        if ok:
            return
        time.sleep(0.1)
    raise GatewayUnreachable(
        f"the gateway at {url} did not switch {model} to canary={canary} shadow={shadow} "
        f"within {timeout_s:g} s; it serves {seen}"
    )


def open_log(settings: Settings) -> RequestLog:
    """A reader of the request log the gateway writes (never started as a writer)."""
    from safeship.gateway.requestlog import RequestLog, default_url

    url = os.environ.get("SAFESHIP_GATEWAY_REQUEST_LOG_URL") or default_url(settings)
    return RequestLog(url)


def read_window(
    log: RequestLog, model: str, since: float, until: float | None = None
) -> pd.DataFrame:
    return log.query(model, since=since, until=until)


def replay_prompts(
    log: RequestLog, model: str, *, minimum: int = 50, limit: int = 2000
) -> list[str]:
    """Prompts production answered recently (the request log), else the built-in list."""
    from safeship.testing.traffic import load_prompts

    frame = log.query(model, role="stable", since=time.time() - 7 * 86_400)
    prompts = [p for p in frame["prompt"].dropna().astype(str).tolist() if p.strip()]
    unique = list(dict.fromkeys(prompts))[-limit:]
    return unique if len(unique) >= minimum else load_prompts()
