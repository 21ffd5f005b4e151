"""Configuration, validated once at the edge.

* ``Settings`` — the environment (``SAFESHIP_*``) and where the project's state lives.
* ``safeship.params`` holds ``params.yaml`` (the pipeline's stages and the policy).

A bad value names the key, the value and what is allowed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STATE_DIR_NAME = ".safeship"
PARAMS_FILE = "params.yaml"


# Environment that keeps Prefect, DVC and Evidently offline (STACK_NOTES.md).
OFFLINE_ENV: dict[str, str] = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def apply_offline_env(state_dir: Path | None = None) -> None:
    """Set the offline environment (without overriding what the user already set)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    if state_dir is not None:
        os.environ.setdefault("PREFECT_HOME", str(state_dir / "prefect"))


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for DVC stages and other tools: offline, with *this* Python first on PATH
    (the demo stages run ``python -m safeship...``)."""
    import sys

    env = dict(os.environ)
    env.update(OFFLINE_ENV)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def find_project_root(start: Path | None = None) -> Path:
    """Walk up from ``start`` (default: the working directory) to the project root.

    The root is the nearest folder holding ``.safeship/``, ``.dvc/`` or ``.git``; failing
    that, the nearest holding ``params.yaml``; failing that, ``start`` itself.
    """
    here = (start or Path.cwd()).resolve()
    candidates = [here, *here.parents]
    for folder in candidates:
        if any((folder / marker).exists() for marker in (STATE_DIR_NAME, ".dvc", ".git")):
            return folder
    for folder in candidates:
        if (folder / PARAMS_FILE).exists():
            return folder
    return here


@dataclass(frozen=True)
class Settings:
    """Where the project and its state live, and which database holds the registry."""

    project_root: Path
    state_dir: Path
    db_url: str

    @property
    def dvc_remote_dir(self) -> Path:
        return self.state_dir / "dvc-remote"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @classmethod
    def from_env(cls, cwd: Path | None = None) -> Settings:
        root = find_project_root(cwd)
        home = os.environ.get("SAFESHIP_HOME")
        state_dir = Path(home).expanduser().resolve() if home else root / STATE_DIR_NAME
        db_url = os.environ.get("SAFESHIP_DB_URL") or f"sqlite:///{state_dir / 'registry.db'}"
        if os.environ.get("SAFESHIP_DB_URL"):
            from safeship.dburl import check_db_url

            check_db_url(db_url)
        return cls(project_root=root, state_dir=state_dir, db_url=db_url)
