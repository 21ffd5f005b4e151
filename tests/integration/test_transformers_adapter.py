"""The transformers adapter against a real (tiny) GPT-2 trained offline in the test."""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from safeship.errors import ConfigError, InputError
from safeship.models.base import GenerationRequest, Generator
from safeship.models.loader import load_generator, read_adapter_config
from safeship.models.transformers_adapter import TransformersGenerator, perplexity

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
pytest.importorskip("torch")
pytest.importorskip("transformers")

sys.path.insert(0, str(Path(__file__).parent))
from tiny_gpt2 import build_tiny_gpt2  # noqa: E402

PROMPTS = [
    "The cat likes",
    "A dog sees the",
    "My friend cooks",
    "The robot paints a",
    "Her uncle reads",
    "The pilot finds the",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2") / "v1", steps=40)


@pytest.fixture(scope="module")
def generator(model_dir: Path) -> Any:
    gen = load_generator(model_dir)
    yield gen
    gen.close()


def test_loads_by_path_and_generates(generator: Any, model_dir: Path) -> None:
    assert isinstance(generator, TransformersGenerator)
    assert isinstance(generator, Generator)
    assert generator.name == "v1"
    assert read_adapter_config(model_dir)["adapter"] == "transformers"
    out = generator.generate(PROMPTS, GenerationRequest(max_new_tokens=12, temperature=0))
    assert [g.prompt for g in out] == PROMPTS
    for g in out:
        assert g.ok, g.error
        assert g.text.strip()
        assert g.prompt_tokens > 0
        assert 1 <= g.completion_tokens <= 12
        assert g.latency_s > 0


def test_same_seed_same_samples(generator: Any) -> None:
    def sample(seed: int) -> list[str]:
        request = GenerationRequest(max_new_tokens=16, temperature=1.0, seed=seed)
        return [g.text for g in generator.generate(PROMPTS, request)]

    first = sample(7)
    assert sample(7) == first
    assert sample(8) != first


def test_greedy_does_not_depend_on_seed(generator: Any) -> None:
    a = generator.generate(PROMPTS[:3], GenerationRequest(max_new_tokens=8, temperature=0, seed=1))
    b = generator.generate(PROMPTS[:3], GenerationRequest(max_new_tokens=8, temperature=0, seed=2))
    assert [g.text for g in a] == [g.text for g in b]


def test_system_prompt_is_prepended(generator: Any) -> None:
    plain = generator.generate(["The cat likes"], GenerationRequest(max_new_tokens=4))
    system = GenerationRequest(max_new_tokens=4, system_prompt="Answer kindly.")
    with_system = generator.generate(["The cat likes"], system)
    assert with_system[0].prompt_tokens > plain[0].prompt_tokens
    assert with_system[0].prompt == "The cat likes"


def test_perplexity_is_finite_and_lower_in_domain(generator: Any) -> None:
    logprobs = generator.token_logprobs("The cat likes a red ball today.")
    assert logprobs and all(math.isfinite(x) and x <= 0 for x in logprobs)
    assert len(logprobs) == len(
        generator._tokenizer("The cat likes a red ball today.")["input_ids"]
    )  # BOS is prepended, so every token is scored
    in_domain = generator.perplexity(["The cat likes a red ball today.", "A dog sees the map."])
    gibberish = generator.perplexity(["zq xv kkpl ofu qqq jjw xyzzy"])
    assert math.isfinite(in_domain) and math.isfinite(gibberish)
    assert in_domain < gibberish
    as_reply = generator.token_logprobs(" a red ball today.", prompt="The cat likes")
    assert len(as_reply) == len(generator._tokenizer(" a red ball today.")["input_ids"])
    assert generator.perplexity([" a red ball today."], prompts=["The cat likes"]) < gibberish
    assert perplexity([]) == math.inf
    with pytest.raises(InputError):
        generator.perplexity([""])
    with pytest.raises(InputError):
        generator.perplexity(["a"], prompts=[])


def test_invalid_request_is_refused(generator: Any) -> None:
    with pytest.raises(InputError, match="max_new_tokens"):
        generator.generate(["x"], GenerationRequest(max_new_tokens=0))
    with pytest.raises(InputError, match="temperature"):
        generator.generate(["x"], GenerationRequest(temperature=-1))


def test_a_failing_prompt_is_recorded_and_the_batch_goes_on(
    generator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = generator.generate(["", "The cat likes"], GenerationRequest(max_new_tokens=4))
    assert not out[0].ok and "empty" in (out[0].error or "")
    assert out[1].ok

    real_generate = generator._model.generate
    tokenizer = generator._tokenizer

    def exploding(*, input_ids: Any, **kwargs: Any) -> Any:
        if any("BOOM" in text for text in tokenizer.batch_decode(input_ids)):
            raise RuntimeError("simulated kernel failure")
        return real_generate(input_ids=input_ids, **kwargs)

    monkeypatch.setattr(generator._model, "generate", exploding)
    out = generator.generate(
        ["The cat likes", "BOOM now", "A dog sees"], GenerationRequest(max_new_tokens=4)
    )
    assert [g.ok for g in out] == [True, False, True]
    assert "simulated kernel failure" in (out[1].error or "")


def test_sidecar_config_with_model_dir(model_dir: Path, tmp_path: Path) -> None:
    version = tmp_path / "v2"
    shutil.copytree(model_dir, version / "hf")
    (version / "config.json").write_text(
        json.dumps({"adapter": "transformers", "model_dir": "hf", "batch_size": 2})
    )
    gen = load_generator(version)
    try:
        out = gen.generate(PROMPTS[:5], GenerationRequest(max_new_tokens=4, temperature=0))
        assert [g.prompt for g in out] == PROMPTS[:5]
        assert all(g.ok for g in out)
    finally:
        gen.close()


def test_model_dir_may_not_escape(tmp_path: Path) -> None:
    version = tmp_path / "v3"
    version.mkdir()
    (version / "config.json").write_text(
        json.dumps({"adapter": "transformers", "model_dir": "../elsewhere"})
    )
    with pytest.raises(ConfigError, match="must stay inside"):
        load_generator(version)


def test_chat_template_is_used_when_the_tokenizer_has_one(generator: Any) -> None:
    tokenizer = copy.deepcopy(generator._tokenizer)
    tokenizer.chat_template = (
        "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}[assistant]{% endif %}"
    )
    gen = TransformersGenerator("chat", generator._model, tokenizer)
    assert gen._format("hi", "be kind") == "[system] be kind\n[user] hi\n[assistant]"
    out = gen.generate(["hi"], GenerationRequest(max_new_tokens=3, system_prompt="be kind"))
    assert out[0].ok, out[0].error
    plain = TransformersGenerator("plain", generator._model, tokenizer, chat_template=False)
    assert plain._format("hi", "be kind") == "be kind\n\nhi"
