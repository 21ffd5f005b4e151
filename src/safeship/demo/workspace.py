"""A runnable copy of the demo pipeline (dvc.yaml, params.yaml, the package) in a folder.

Used by ``make demo``, the tests and the benchmarks, so each runs the pipeline in a
throw-away git + DVC project without touching the repository.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from safeship.config import tool_env

SOURCE_ROOT = Path(__file__).resolve().parents[3]


def copy_pipeline(dest: Path, source: Path = SOURCE_ROOT) -> dict[str, str]:
    """Copy the pipeline into ``dest``, ``git init`` + ``dvc init``; return the stages' env.

    The stages import the *copied* package (``PYTHONPATH``), so the code hashes DVC
    records are those of the code that ran.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy2(source / name, dest / name)
    shutil.copytree(
        source / "src" / "safeship",
        dest / "src" / "safeship",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    env = tool_env({"PYTHONPATH": str(dest / "src"), "GIT_TERMINAL_PROMPT": "0"})
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True, env=env)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=dest, check=True, env=env)
    return env


def commit_all(root: Path, message: str) -> None:
    """Commit everything in ``root`` (so lineage records a clean git commit)."""
    for args in (
        ["add", "-A"],
        ["-c", "user.email=demo@safeship", "-c", "user.name=safeship", "commit", "-qm", message],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
