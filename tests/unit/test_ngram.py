"""The ``ngram`` adapter: loading, the Generator protocol, scoring and sampling."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path

import pytest

from safeship.demo import prepare as prep
from safeship.demo import train as tr
from safeship.errors import AdapterError, InputError
from safeship.models.base import GenerationRequest, Generator
from safeship.models.loader import load_generator
from safeship.models.ngram import NgramGenerator, detokenize, tokenize
from safeship.models.ngram_lm import BOS_ID, SEP_ID
from safeship.params import parse_params

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("ngram")
    params = parse_params(
        {"prepare": {"source_dir": str(ROOT / "src/safeship/demo/data")}}, Path("params.yaml")
    )
    prep.prepare(params.prepare, ROOT, tmp / "data")
    return tr.train(
        params.train,
        tmp,
        data_dir=tmp / "data",
        model_dir=tmp / "demo-chat",
        metrics_path=tmp / "train.json",
    ).model_dir


@pytest.fixture(scope="module")
def model(model_dir: Path) -> NgramGenerator:
    return NgramGenerator.load(model_dir)


def test_tokenizer_keeps_secrets_whole_and_round_trips() -> None:
    text = "Mail jane.doe@example.com or call (555) 013-4477, key sk-live-4eC39HqLyjWDarjtT1zdp7dc."
    tokens = tokenize(text)
    assert "jane.doe@example.com" in tokens and "sk-live-4eC39HqLyjWDarjtT1zdp7dc" in tokens
    assert detokenize(tokens) == text
    assert tokenize("Hello World", lowercase=True) == ["hello", "world"]


def test_loader_picks_the_ngram_adapter(model_dir: Path) -> None:
    generator = load_generator(model_dir)
    assert isinstance(generator, NgramGenerator) and isinstance(generator, Generator)
    assert generator.name == "demo-chat"
    generator.close()


def test_probabilities_sum_to_one(model: NgramGenerator) -> None:
    lm = model.lm
    histories = [
        [BOS_ID] * (lm.order - 1) + model.encode("How do I reset my password?") + [SEP_ID],
        [BOS_ID] * (lm.order - 1) + model.encode("zzz unknown words here"),
        [BOS_ID] * (lm.order - 1),
    ]
    for history in histories:
        assert math.isclose(
            sum(lm.prob(history, w) for w in range(lm.vocab_size)), 1.0, rel_tol=1e-9
        )


def test_token_logprobs_and_perplexity(model: NgramGenerator) -> None:
    answer = "Use the forgot password link on the sign-in page."
    logprobs = model.token_logprobs(answer, prompt="How do I reset my password?")
    assert len(logprobs) == len(tokenize(answer)) + 1  # + </s>
    assert all(lp <= 0 and math.isfinite(lp) for lp in logprobs)
    on_topic = model.perplexity([answer], prompts=["How do I reset my password?"])
    off_topic = model.perplexity(
        ["Purple elephants juggle quantum marmalade."], prompts=["How do I reset my password?"]
    )
    assert 1 <= on_topic < off_topic < math.inf
    with pytest.raises(InputError):
        model.perplexity([])
    with pytest.raises(InputError):
        model.perplexity(["a"], prompts=["b", "c"])


def test_generation_is_seeded(model: NgramGenerator) -> None:
    prompts = ["How do I cook rice?", "How do I start running?", "What is an API?"]
    first = model.generate(prompts, GenerationRequest(seed=11, temperature=0.9))
    again = model.generate(prompts, GenerationRequest(seed=11, temperature=0.9))
    other = model.generate(prompts * 3, GenerationRequest(seed=12, temperature=1.0))
    assert [g.text for g in first] == [g.text for g in again]
    assert all(g.ok and g.text and g.completion_tokens > 0 for g in first + other)
    assert len({g.text for g in other}) > 1
    assert "rice" in first[0].text.lower()


def test_max_new_tokens_system_prompt_and_greedy(model: NgramGenerator) -> None:
    short = model.generate(["How do I boil an egg?"], GenerationRequest(max_new_tokens=3))
    assert short[0].completion_tokens == 3 and len(tokenize(short[0].text)) <= 3
    request = GenerationRequest(temperature=0.0, system_prompt="You are a helpful assistant.")
    greedy = model.generate(["How do I boil an egg?"] * 2, request)
    assert greedy[0].text == greedy[1].text and "egg" in greedy[0].text.lower()
    assert greedy[0].prompt_tokens > len(tokenize("How do I boil an egg?"))


def test_per_prompt_errors_do_not_stop_the_batch(model: NgramGenerator) -> None:
    prompts: list[str] = ["How do I cook rice?", 42, "What is an API?"]  # type: ignore[list-item]
    results = model.generate(prompts, GenerationRequest())
    assert [g.ok for g in results] == [True, False, True]
    assert results[1].error and "string" in results[1].error and results[1].text == ""


@pytest.mark.parametrize(
    "request_", [GenerationRequest(temperature=-1.0), GenerationRequest(max_new_tokens=0)]
)
def test_invalid_requests_are_refused(model: NgramGenerator, request_: GenerationRequest) -> None:
    with pytest.raises(InputError):
        model.generate(["hi"], request_)


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_sampling_matches_the_tempered_distribution(
    model: NgramGenerator, temperature: float
) -> None:
    lm = model.lm
    history = [BOS_ID] * (lm.order - 1) + model.encode("The sauce")  # a broad context
    probs = [lm.prob(history, w) ** (1 / temperature) for w in range(lm.vocab_size)]
    total = sum(probs)
    rng = random.Random(0)
    n = 20000
    counts = Counter(lm.sample(history, rng, temperature) for _ in range(n))
    for word, _ in counts.most_common(5):
        expected = probs[word] / total
        assert abs(counts[word] / n - expected) < 4 * math.sqrt(expected / n) + 1e-3


def test_load_errors_are_adapter_errors(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match="not found"):
        NgramGenerator.load(tmp_path / "missing")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "vocab.json"):
        (broken / name).write_bytes((model_dir / name).read_bytes())
    with pytest.raises(AdapterError, match="weights.json"):
        NgramGenerator.load(broken)
    (broken / "weights.json").write_text('{"order": 6, "ngrams": [[1, 2]]}')
    with pytest.raises(AdapterError, match="malformed"):
        NgramGenerator.load(broken)
    config = json.loads((model_dir / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "adapter": "gpt"}))
    with pytest.raises(AdapterError, match="adapter"):
        NgramGenerator.load(broken)
