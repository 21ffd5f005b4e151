"""Team mode: a Prefect server started by the stack with PREFECT_SERVER_API_AUTH_STRING
refuses anonymous calls, and safeship's REST client sends the credential."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from safeship.config import Settings
from safeship.errors import ExternalToolError, NotFoundError

pytestmark = pytest.mark.slow


def test_server_auth_is_honoured_and_sent(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safeship import prefect_api
    from safeship.stack import Stack

    monkeypatch.setenv("SAFESHIP_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", "admin:s3cret")
    monkeypatch.delenv("PREFECT_API_AUTH_STRING", raising=False)
    stack = Stack(Settings.from_env(project), prefect_port=Stack.free_port(), gateway_port=0)
    assert stack.env["PREFECT_API_AUTH_STRING"] == "admin:s3cret"
    try:
        stack.start_server()
        monkeypatch.setenv("PREFECT_API_URL", stack.api_url)
        anonymous = httpx.post(f"{stack.api_url}/flow_runs/filter", json={}, timeout=10)
        assert anonymous.status_code == 401
        preflight = {"Access-Control-Request-Method": "POST"}
        foreign = httpx.options(f"{stack.api_url}/flow_runs/filter", timeout=10,
                                headers={**preflight, "Origin": "http://evil.example"})  # fmt: skip
        assert "access-control-allow-origin" not in foreign.headers  # another origin: no CORS
        own = httpx.options(f"{stack.api_url}/flow_runs/filter", timeout=10,
                            headers={**preflight, "Origin": stack.ui_url})  # fmt: skip
        assert own.headers.get("access-control-allow-origin") == stack.ui_url
        missing = str(uuid.uuid4())
        with pytest.raises(NotFoundError):  # authenticated: the server looked the run up
            prefect_api.flow_run(missing)
        monkeypatch.setenv("PREFECT_API_AUTH_STRING", "admin:wrong")
        with pytest.raises(ExternalToolError, match="refused our credentials"):
            prefect_api.flow_run(missing)
    finally:
        stack.stop()
