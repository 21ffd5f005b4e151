"""Running the project's DVC pipeline (``dvc repro``) with this interpreter, offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from safeship.config import tool_env


def dvc_repro(root: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``dvc repro`` in ``root`` with this interpreter (output captured, bounded)."""
    return subprocess.run(
        [sys.executable, "-m", "dvc", "repro"],
        cwd=root,
        env=env or tool_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
