"""``train`` stage: fit the ``demo-chat`` n-gram model and measure held-out perplexity.

Reads ``data/prepared/corpus.jsonl`` and ``heldout.jsonl``, counts top-order n-grams over
``<s>... prompt <sep> response </s>`` sequences and writes ``models/demo-chat/``
(``config.json``, ``vocab.json``, ``weights.json``) and ``metrics/train.json``.
Counting is order-independent and every file is written with sorted keys and rows, so the
same data and params give byte-identical files. ``train.seed`` is recorded in
``config.json`` as the model's default sampling seed.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeship.config import TrainParams, find_project_root, load_params
from safeship.demo.prepare import CORPUS_FILE, HELDOUT_FILE, OUT_DIR, read_jsonl
from safeship.errors import InputError, SafeshipError
from safeship.models.ngram import (
    ADAPTER,
    CONFIG_FILE,
    TOKEN_PATTERN,
    VOCAB_FILE,
    WEIGHTS_FILE,
    NgramGenerator,
    tokenize,
)
from safeship.models.ngram_lm import BOS_ID, EOS_ID, SEP_ID, SPECIALS, UNK_ID

MODEL_NAME = "demo-chat"
MODEL_DIR = Path("models") / MODEL_NAME
METRICS_FILE = Path("metrics/train.json")


@dataclass(frozen=True)
class TrainResult:
    model_dir: Path
    metrics: dict[str, Any]


def _dump(path: Path, data: Any, indent: int | None = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(
        data, sort_keys=True, indent=indent, separators=separators, ensure_ascii=False
    )
    path.write_text(text + "\n", encoding="utf-8")


def _pairs(records: list[dict[str, Any]], source: Path) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for number, record in enumerate(records, start=1):
        prompt, response = record.get("prompt"), record.get("response")
        if not isinstance(prompt, str) or not isinstance(response, str):
            raise InputError(f"{source}: record {number} lacks string 'prompt'/'response'")
        pairs.append((prompt, response))
    if not pairs:
        raise InputError(f"{source} holds no records: nothing to train on")
    return pairs


def build_vocab(pairs: list[tuple[str, str]], params: TrainParams) -> list[str]:
    counts: Counter[str] = Counter()
    for prompt, response in pairs:
        counts.update(tokenize(prompt, params.lowercase))
        counts.update(tokenize(response, params.lowercase))
    words = [w for w, c in counts.items() if c >= params.min_count and w not in SPECIALS]
    return [*SPECIALS, *sorted(words, key=lambda w: (-counts[w], w))]


def count_ngrams(
    pairs: list[tuple[str, str]], vocab: list[str], params: TrainParams
) -> list[list[int]]:
    """Top-order counts as sorted ``[id, ..., id, count]`` rows."""
    ids = {token: i for i, token in enumerate(vocab)}
    order = params.order
    counts: Counter[tuple[int, ...]] = Counter()
    for prompt, response in pairs:
        seq = [BOS_ID] * (order - 1)
        seq += [ids.get(t, UNK_ID) for t in tokenize(prompt, params.lowercase)]
        seq.append(SEP_ID)
        seq += [ids.get(t, UNK_ID) for t in tokenize(response, params.lowercase)]
        seq.append(EOS_ID)
        for end in range(order, len(seq) + 1):
            counts[tuple(seq[end - order : end])] += 1
    return [[*gram, count] for gram, count in sorted(counts.items())]


def unigram_perplexity(
    train: list[tuple[str, str]], heldout: list[tuple[str, str]], params: TrainParams
) -> float:
    """Baseline: add-one unigram over response tokens and ``</s>``."""
    counts: Counter[str] = Counter()
    for _, response in train:
        counts.update(tokenize(response, params.lowercase))
        counts["</s>"] += 1
    vocab_size = len(counts) + 1  # + <unk>
    total = sum(counts.values())
    logprob, n = 0.0, 0
    for _, response in heldout:
        for token in [*tokenize(response, params.lowercase), "</s>"]:
            logprob += math.log((counts.get(token, 0) + 1) / (total + vocab_size))
            n += 1
    return math.exp(-logprob / n)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(
    params: TrainParams,
    root: Path,
    data_dir: Path | None = None,
    model_dir: Path | None = None,
    metrics_path: Path | None = None,
) -> TrainResult:
    """Run the stage; paths default to the dvc.yaml layout under ``root``."""
    data = data_dir if data_dir is not None else root / OUT_DIR
    out = model_dir if model_dir is not None else root / MODEL_DIR
    metrics_file = metrics_path if metrics_path is not None else root / METRICS_FILE
    corpus_path, heldout_path = data / CORPUS_FILE, data / HELDOUT_FILE
    train_pairs = _pairs(read_jsonl(corpus_path), corpus_path)
    heldout_pairs = _pairs(read_jsonl(heldout_path), heldout_path)

    vocab = build_vocab(train_pairs, params)
    rows = count_ngrams(train_pairs, vocab, params)
    config = {
        "adapter": ADAPTER,
        "name": MODEL_NAME,
        "order": params.order,
        "discount": params.discount,
        "smoothing": "interpolated-kneser-ney",
        "min_count": params.min_count,
        "seed": params.seed,
        "max_new_tokens": params.max_new_tokens,
        "vocab_size": len(vocab),
        "trained_on": {"corpus_sha256": _sha256(corpus_path), "records": len(train_pairs)},
    }
    out.mkdir(parents=True, exist_ok=True)
    _dump(out / CONFIG_FILE, config)
    _dump(
        out / VOCAB_FILE,
        {
            "tokens": vocab,
            "lowercase": params.lowercase,
            "pattern": TOKEN_PATTERN,
            "specials": list(SPECIALS),
        },
        indent=None,
    )
    _dump(out / WEIGHTS_FILE, {"order": params.order, "ngrams": rows}, indent=None)

    model = NgramGenerator.load(out)
    prompts = [p for p, _ in heldout_pairs]
    responses = [r for _, r in heldout_pairs]
    metrics = {
        "heldout_perplexity": round(model.perplexity(responses, prompts), 6),
        "unigram_perplexity": round(unigram_perplexity(train_pairs, heldout_pairs, params), 6),
        "train_records": len(train_pairs),
        "heldout_records": len(heldout_pairs),
        "vocab_size": len(vocab),
        "ngrams": len(rows),
        "order": params.order,
    }
    _dump(metrics_file, metrics)
    return TrainResult(out, metrics)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m safeship.demo.train`` (run from the project root)."""
    del argv
    try:
        root = find_project_root()
        result = train(load_params(root).train, root)
    except SafeshipError as error:
        print(f"train: {error}", file=sys.stderr)
        return error.exit_code
    m = result.metrics
    print(
        f"train: {MODEL_NAME} order={m['order']} vocab={m['vocab_size']} ngrams={m['ngrams']} "
        f"held-out perplexity {m['heldout_perplexity']:.2f} "
        f"(unigram baseline {m['unigram_perplexity']:.2f}) -> {result.model_dir}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
