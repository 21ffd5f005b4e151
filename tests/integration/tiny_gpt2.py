"""Build a tiny, real GPT-2 offline: a byte-level BPE tokenizer and a 2-layer model trained
for a few dozen steps on template sentences. Used by the transformers adapter's tests and
by ``benchmarks/bench_adapters.py``. Nothing is downloaded.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

EOS = "<|endoftext|>"

_SUBJECTS = [
    "the cat",
    "a dog",
    "my friend",
    "the teacher",
    "our team",
    "the robot",
    "a child",
    "the farmer",
    "her uncle",
    "the pilot",
]
_VERBS = ["likes", "sees", "builds", "paints", "finds", "carries", "reads", "cooks"]
_OBJECTS = [
    "a red ball",
    "the old house",
    "fresh bread",
    "a long letter",
    "the blue boat",
    "warm soup",
    "a small garden",
    "the map",
    "a quiet song",
    "the green door",
]
_ENDINGS = ["today.", "in the morning.", "every day.", "with care.", "after lunch."]


def corpus(lines: int = 400, seed: int = 0) -> list[str]:
    """A few hundred short, regular English sentences."""
    every = [
        f"{s} {v} {o} {e}".capitalize()
        for s, v, o, e in itertools.product(_SUBJECTS, _VERBS, _OBJECTS, _ENDINGS)
    ]
    random.Random(seed).shuffle(every)
    return every[:lines]


def build_tiny_gpt2(
    folder: Path,
    *,
    steps: int = 40,
    seed: int = 0,
    n_embd: int = 64,
    adapter_key: bool = True,
) -> Path:
    """Train and ``save_pretrained`` a tiny GPT-2 and its tokenizer into ``folder``.

    With ``adapter_key`` the saved ``config.json`` gets ``"adapter": "transformers"``, so
    ``folder`` is a safeship model folder as well as a Hugging Face one.
    """
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    texts = corpus(seed=seed)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        texts, vocab_size=400, min_frequency=2, special_tokens=[EOS], show_progress=False
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token=EOS,
        eos_token=EOS,
        pad_token=EOS,
        unk_token=EOS,
    )
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=64,
        n_embd=n_embd,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    encoded = [tokenizer(text + EOS)["input_ids"] for text in texts]
    rng = random.Random(seed)
    model.train()
    for _ in range(steps):
        batch = rng.sample(encoded, 16)
        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), tokenizer.pad_token_id)
        labels = torch.full((len(batch), width), -100)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            labels[row, : len(ids)] = torch.tensor(ids)
        loss = model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if adapter_key:
        config_file = folder / "config.json"
        data = json.loads(config_file.read_text())
        data["adapter"] = "transformers"
        config_file.write_text(json.dumps(data, indent=2))
    return folder
