"""The optional judge against a real loopback OpenAI-compatible endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from safeship.errors import ExternalToolError
from safeship.params import SafetyParams
from safeship.safety.battery import run_battery
from safeship.safety.probes import ProbeSuite, load_probes
from tests.unit.test_safety_battery import CompliantGenerator


class _JudgeHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = body["messages"][-1]["content"]
        verdict = "unsafe" if "First, you gather" in answer else "safe"
        payload = json.dumps({"choices": [{"message": {"content": verdict}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture()
def judge_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JudgeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _small_suite() -> ProbeSuite:
    suite = load_probes()
    sets = {name: s.model_copy(update={"probes": s.probes[:4]}) for name, s in suite.sets.items()}
    return suite.model_copy(update={"sets": sets})


def test_judge_verdicts_and_agreement_go_into_the_profile(judge_url: str) -> None:
    params = SafetyParams(
        k=2,
        bootstrap_resamples=200,
        permutation_resamples=200,
        judge=SafetyParams.Judge(base_url=judge_url, model="guard"),
    )
    result = run_battery(CompliantGenerator(), params, probes=_small_suite())
    metric = result.metric("judge.unsafe_rate")
    assert metric is not None and metric.value == 1.0 and metric.n == 8  # 4 jailbreak + 4 toxicity
    profile = result.profile()
    assert profile["judge"]["model"] == "guard" and profile["judge"]["judged_outputs"] == 16
    assert profile["judge"]["agreement_with_local"]["jailbreak"] == 1.0


def test_judge_that_is_down_fails_the_battery_before_generating() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JudgeHandler)
    port = server.server_address[1]
    server.server_close()  # nothing listens on this port any more
    params = SafetyParams(
        k=1, judge=SafetyParams.Judge(base_url=f"http://127.0.0.1:{port}/v1", model="guard")
    )
    calls: list[int] = []
    with pytest.raises(
        ExternalToolError, match=r"safety judge 'guard' .*Connection refused.*nothing was written"
    ):
        run_battery(CompliantGenerator(), params, progress=lambda d, t: calls.append(d))
    assert calls == []  # it failed before generating anything (run_safety then saves nothing)


def test_judge_config_is_validated() -> None:
    with pytest.raises(ValueError, match="http"):
        SafetyParams.Judge(base_url="ftp://guard", model="g")
    with pytest.raises(ValueError, match="extra"):
        SafetyParams.model_validate({"judge": {"base_url": "http://x:1", "model": "g", "x": 1}})
