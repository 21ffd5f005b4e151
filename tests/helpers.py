"""Helpers shared by tests."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_artifact(
    folder: Path, *, seed: str = "a", config: dict[str, object] | None = None
) -> Path:
    """A small model directory: a config, weights and a nested tokenizer file."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(
        json.dumps(config or {"adapter": "ngram", "order": 3, "seed": 1}), encoding="utf-8"
    )
    (folder / "weights.bin").write_bytes((seed * 4096).encode())
    (folder / "tokenizer").mkdir(exist_ok=True)
    (folder / "tokenizer" / "vocab.txt").write_text(f"hello\nworld\n{seed}\n", encoding="utf-8")
    return folder


def make_pipeline_copy(dest: Path) -> dict[str, str]:
    """Copy the demo pipeline into ``dest`` (git + dvc init); return the stages' env."""
    from safeship.demo.workspace import copy_pipeline

    return copy_pipeline(dest)


def repro(dest: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    from safeship.lineage.pipeline import dvc_repro

    return dvc_repro(dest, env)
