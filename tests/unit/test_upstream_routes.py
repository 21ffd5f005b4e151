"""One fake upstream serving several candidates, routed by the request's ``model``."""

from __future__ import annotations

from pathlib import Path

from safeship.models.base import GenerationRequest
from safeship.models.loader import load_generator
from safeship.testing.upstream import Ask, FakeUpstream, Route, openai_candidate_dir


def _echo_system(ask: Ask) -> str:
    return f"system={ask.system} seed={ask.seed} prompt={ask.prompt}"


def test_routes_by_model_with_the_whole_request_and_their_own_failures(tmp_path: Path) -> None:
    routes = {
        "a": Route(_echo_system),
        "b": Route(lambda ask: "one two three four five six", error_rate=0.25),
    }
    upstream = FakeUpstream(routes=routes)
    try:
        a = load_generator(
            openai_candidate_dir(tmp_path / "a", upstream.base_url, model="a", mode="chat")
        )
        b = load_generator(
            openai_candidate_dir(tmp_path / "b", upstream.base_url, model="b", mode="chat")
        )
        unknown = load_generator(
            openai_candidate_dir(tmp_path / "c", upstream.base_url, model="c", mode="chat")
        )
        request = GenerationRequest(max_new_tokens=4, temperature=0.0, seed=7, system_prompt="S")
        [got] = a.generate(["hi"], request)
        assert got.error is None and got.text == "system=S seed=7 prompt=hi"  # 4 words kept
        outs = b.generate([f"p{i}" for i in range(8)], request)
        assert sum(o.error is not None for o in outs) == 2  # exactly a quarter, no retries
        assert {o.text for o in outs if o.error is None} == {"one two three four"}
        [missing] = unknown.generate(["hi"], request)
        assert missing.error is not None and "404" in missing.error
        assert routes["a"].count == 1 and routes["b"].count == 8
        for generator in (a, b, unknown):
            generator.close()
    finally:
        upstream.close()
