"""Helpers shared by tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


ROOT = Path(__file__).resolve().parents[1]
OFFLINE = {"DVC_NO_ANALYTICS": "1", "DO_NOT_TRACK": "1", "GIT_TERMINAL_PROMPT": "0"}


def make_pipeline_copy(dest: Path) -> dict[str, str]:
    """Copy dvc.yaml, params.yaml and the package into ``dest``; git + dvc init; return env."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "src" / "safeship",
        dest / "src" / "safeship",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    env = {
        **os.environ,
        **OFFLINE,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(dest / "src"),
    }  # the stages run the copied code
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True, env=env)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=dest, check=True, env=env)
    return env


def repro(dest: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dvc", "repro"],
        cwd=dest,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
