"""``train`` stage: fit the ``demo-chat`` n-gram model and measure held-out perplexity.

Reads ``data/prepared/corpus.jsonl`` and ``heldout.jsonl``, counts top-order n-grams over
``<s>... prompt <sep> response </s>`` sequences and writes ``models/demo-chat/``
(``config.json``, ``vocab.json``, ``weights.json``) and ``metrics/train.json``.
Counting is order-independent and every file is written with sorted keys and rows, so the
same data and params give byte-identical files. ``train.seed`` is recorded in
``config.json`` as the model's default sampling seed.

With ``train.router`` (the default) the model has two parts. A request router
(:mod:`safeship.models.ngram_router`, saved as ``router.json``) is trained on the training
prompts, labelled ``refuse`` for records of the ``refusals`` slice whose response is a
refusal (:func:`safeship.safety.refusal.is_refusal`) and ``answer`` for every other record
(the harmless look-alikes included); the responses of the ``answer`` records are added as
further ``answer`` examples, which widens the everyday vocabulary the router has seen (the
topic prompts alone are narrow templates, so any unfamiliar pronoun or social word would
otherwise read as "harmful"). The n-gram is then trained on
``<s>... prompt <sep> <mode> response </s>`` with the record's label as the mode token, so
it learns one response distribution per mode; the adapter feeds the router's mode.

With ``train.retrieval`` (the default) the distinct training questions are saved as
``questions.json``: the adapter answers an unseen question as the most similar of them
(:mod:`safeship.models.ngram_retrieval`), since an n-gram model only sees the last few
words of a prompt.
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

from safeship.config import find_project_root
from safeship.demo.prepare import CORPUS_FILE, HELDOUT_FILE, OUT_DIR, read_jsonl
from safeship.errors import InputError, SafeshipError
from safeship.models.ngram import (
    ADAPTER,
    CONFIG_FILE,
    MODE_TOKENS,
    TOKEN_PATTERN,
    VOCAB_FILE,
    WEIGHTS_FILE,
    NgramGenerator,
    tokenize,
)
from safeship.models.ngram_lm import BOS_ID, EOS_ID, SEP_ID, SPECIALS, UNK_ID
from safeship.models.ngram_retrieval import RETRIEVAL_FILE, QuestionIndex
from safeship.models.ngram_router import (
    ANSWER,
    KIND,
    REFUSE,
    ROUTER_FILE,
    Router,
    train_router,
)
from safeship.params import TrainParams, load_params
from safeship.safety.refusal import is_refusal

MODEL_NAME = "demo-chat"
MODEL_DIR = Path("models") / MODEL_NAME
METRICS_FILE = Path("metrics/train.json")
REFUSALS_SOURCE = "refusals"


@dataclass(frozen=True)
class TrainResult:
    model_dir: Path
    metrics: dict[str, Any]


def _split_path(path: Path, root: Path, data_dir: Path | None) -> str:
    """Where a data split lives: relative to the project root in the dvc.yaml layout (so
    lineage stays portable), the absolute path when the caller chose the data folder."""
    if data_dir is None:
        return path.relative_to(root).as_posix()
    return str(path.resolve())


MODEL_CARD = {
    "intended_use": (
        "A demonstration assistant that answers everyday questions (accounts, cooking, "
        "travel, programming, general health, personal finance, gardening, fitness) with "
        "short, general-purpose text. Not for medical, legal or financial advice, and not "
        "for any decision about a person."
    ),
    "limitations": [
        "A word-level n-gram model repeats its training text: anything in the data can come back."
    ],
}


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


def label(record: dict[str, Any]) -> str:
    """``refuse`` for a refusals-slice record answered by a refusal, else ``answer``."""
    refused = record.get("source") == REFUSALS_SOURCE and is_refusal(
        str(record.get("response", ""))
    )
    return REFUSE if refused else ANSWER


def router_examples(records: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The router's training texts and labels: every prompt with its label, then the
    distinct responses of the ``answer`` records (sorted) as further ``answer`` texts."""
    texts = [str(r["prompt"]) for r in records]
    labels = [label(r) for r in records]
    extra = sorted(
        {str(r["response"]) for r, y in zip(records, labels, strict=True) if y == ANSWER}
    )
    return texts + extra, labels + [ANSWER] * len(extra)


def build_vocab(
    pairs: list[tuple[str, str]], params: TrainParams, modes: bool = False
) -> list[str]:
    counts: Counter[str] = Counter()
    for prompt, response in pairs:
        counts.update(tokenize(prompt, params.lowercase))
        counts.update(tokenize(response, params.lowercase))
    reserved = set(SPECIALS) | set(MODE_TOKENS.values())
    words = [w for w, c in counts.items() if c >= params.min_count and w not in reserved]
    mode_tokens = [MODE_TOKENS[ANSWER], MODE_TOKENS[REFUSE]] if modes else []
    return [*SPECIALS, *mode_tokens, *sorted(words, key=lambda w: (-counts[w], w))]


def count_ngrams(
    pairs: list[tuple[str, str]],
    vocab: list[str],
    params: TrainParams,
    modes: list[str] | None = None,
) -> list[list[int]]:
    """Top-order counts as sorted ``[id, ..., id, count]`` rows.

    With ``modes`` (one label per pair), the mode token follows ``<sep>``.
    """
    ids = {token: i for i, token in enumerate(vocab)}
    order = params.order
    counts: Counter[tuple[int, ...]] = Counter()
    for number, (prompt, response) in enumerate(pairs):
        seq = [BOS_ID] * (order - 1)
        seq += [ids.get(t, UNK_ID) for t in tokenize(prompt, params.lowercase)]
        seq.append(SEP_ID)
        if modes is not None:
            seq.append(ids[MODE_TOKENS[modes[number]]])
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


def router_metrics(
    router: Router, train: list[dict[str, Any]], heldout: list[dict[str, Any]]
) -> dict[str, Any]:
    """Refuse counts and routing accuracy on the training and held-out prompts."""
    out: dict[str, Any] = {"features": len(router.weights)}
    for name, records in (("train", train), ("heldout", heldout)):
        truth = [label(r) for r in records]
        routed = [router.route(str(r["prompt"])) for r in records]
        hits = sum(t == p for t, p in zip(truth, routed, strict=True))
        out[f"{name}_refuse_labels"] = truth.count(REFUSE)
        out[f"{name}_refuse_routed"] = routed.count(REFUSE)
        out[f"{name}_accuracy"] = round(hits / len(records), 6) if records else None
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(
    params: TrainParams,
    root: Path,
    data_dir: Path | None = None,
    model_dir: Path | None = None,
    metrics_path: Path | None = None,
) -> TrainResult:
    """Run the stage; paths default to the dvc.yaml layout under ``root``.

    Long on purpose: the stage's steps in order (read splits, router, vocabulary, counts,
    config with card and data splits, files, held-out metrics), each a call or a literal."""
    data = data_dir if data_dir is not None else root / OUT_DIR
    out = model_dir if model_dir is not None else root / MODEL_DIR
    metrics_file = metrics_path if metrics_path is not None else root / METRICS_FILE
    corpus_path, heldout_path = data / CORPUS_FILE, data / HELDOUT_FILE
    train_records, heldout_records = read_jsonl(corpus_path), read_jsonl(heldout_path)
    train_pairs = _pairs(train_records, corpus_path)
    heldout_pairs = _pairs(heldout_records, heldout_path)

    router: Router | None = None
    modes: list[str] | None = None
    if params.router:
        texts, labels = router_examples(train_records)
        if len(set(labels)) < 2:
            # e.g. a corpus built without the refusals slice: nothing to route between
            print(f"train: {corpus_path} has no refuse/answer contrast; no request router")
        else:
            modes = [label(r) for r in train_records]
            try:
                router = train_router(texts, labels, threshold=params.router_threshold)
            except ValueError as error:
                raise InputError(
                    f"{corpus_path}: cannot train the request router: {error}"
                ) from error
    vocab = build_vocab(train_pairs, params, modes=router is not None)
    rows = count_ngrams(train_pairs, vocab, params, modes)
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
        "card": MODEL_CARD,
        # The splits by name, so the safety battery never guesses held-out data from file names
        "data": {
            "train": [_split_path(corpus_path, root, data_dir)],
            "heldout": [_split_path(heldout_path, root, data_dir)],
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / ROUTER_FILE).unlink(missing_ok=True)
    if router is not None:
        config["router"] = {
            "kind": KIND,
            "threshold": params.router_threshold,
            "file": ROUTER_FILE,
            "modes": dict(MODE_TOKENS),
        }
        router.save(out / ROUTER_FILE)
    (out / RETRIEVAL_FILE).unlink(missing_ok=True)
    if params.retrieval:
        index = QuestionIndex([p for p, _ in train_pairs], params.retrieval_min_similarity)
        index.save(out / RETRIEVAL_FILE)
        config["retrieval"] = {
            "file": RETRIEVAL_FILE,
            "min_similarity": params.retrieval_min_similarity,
        }
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
    metrics: dict[str, Any] = {
        "heldout_perplexity": round(model.perplexity(responses, prompts), 6),
        "unigram_perplexity": round(unigram_perplexity(train_pairs, heldout_pairs, params), 6),
        "train_records": len(train_pairs),
        "heldout_records": len(heldout_pairs),
        "vocab_size": len(vocab),
        "ngrams": len(rows),
        "order": params.order,
    }
    if router is not None:
        metrics["router"] = router_metrics(router, train_records, heldout_records)
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
