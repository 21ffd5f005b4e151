"""Talking to the Prefect server over its REST API (the core never imports Prefect).

``safeship approve`` resumes a paused release run exactly as the UI's Resume form does:
``POST /flow_runs/{id}/resume`` with the form's values as ``run_input``; the server
validates them against the form's schema and refuses invalid input (the run stays paused).
"""

from __future__ import annotations

import os
from typing import Any

from safeship.errors import ConflictError, ExternalToolError, InputError, NotFoundError

DEFAULT_API_URL = "http://127.0.0.1:4200/api"


def api_url() -> str:
    return os.environ.get("PREFECT_API_URL") or DEFAULT_API_URL


def auth_headers() -> dict[str, str]:
    """Basic auth for a Prefect server started with ``PREFECT_SERVER_API_AUTH_STRING``
    (clients set ``PREFECT_API_AUTH_STRING``, as Prefect's own client reads it)."""
    import base64

    secret = os.environ.get("PREFECT_API_AUTH_STRING") or os.environ.get(
        "PREFECT_SERVER_API_AUTH_STRING"
    )
    if not secret:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


def _client() -> Any:
    import httpx

    return httpx.Client(base_url=api_url().rstrip("/"), timeout=15, headers=auth_headers())


def _request(method: str, path: str, **kwargs: Any) -> Any:
    import httpx

    try:
        with _client() as client:
            response = client.request(method, path, **kwargs)
    except httpx.HTTPError as error:
        raise ExternalToolError(
            f"cannot reach the Prefect API at {api_url()}: {error}; start it with `make up` "
            "or set PREFECT_API_URL"
        ) from error
    if response.status_code == 401:
        raise ExternalToolError(
            f"the Prefect API at {api_url()} refused our credentials (401): set "
            "PREFECT_API_AUTH_STRING to the server's PREFECT_SERVER_API_AUTH_STRING"
        )
    if response.status_code == 404:
        raise NotFoundError(f"no flow run at {path} on {api_url()}")
    if response.status_code == 422:
        raise InputError(f"Prefect refused the request: {response.text[:300]}")
    if response.status_code >= 400:
        raise ExternalToolError(
            f"Prefect API {method} {path}: {response.status_code} {response.text[:300]}"
        )
    return response.json() if response.content else None


def flow_run(run_id: str) -> dict[str, Any]:
    data: dict[str, Any] = _request("GET", f"/flow_runs/{run_id}")
    return data


def resume_with_input(run_id: str, run_input: dict[str, Any], attempts: int = 3) -> dict[str, Any]:
    """Resume a paused run with a form input; raise when the server refuses it.

    A server error (a SQLite-backed Prefect server under load answers "database is locked"
    with a 500) leaves the run paused, so the resume is tried again, after checking that
    the run is still paused."""
    import time

    for attempt in range(1, attempts + 1):
        run = flow_run(run_id)
        state = (run.get("state") or {}).get("type")
        if state != "PAUSED":
            raise ConflictError(f"flow run {run_id} is {state}, not paused: nothing to approve")
        try:
            result: dict[str, Any] = _request(
                "POST", f"/flow_runs/{run_id}/resume", json={"run_input": run_input}
            )
            break
        except ExternalToolError:
            if attempt == attempts:
                raise
            time.sleep(attempt)
    status = result.get("status")
    if status != "ACCEPT":
        reason = (result.get("details") or {}).get("reason") or status
        raise ConflictError(f"Prefect refused to resume flow run {run_id}: {reason}")
    return result
