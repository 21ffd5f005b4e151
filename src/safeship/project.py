"""Project state: ``.safeship/`` at the project root, DVC initialised, a default remote."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from safeship.config import STATE_DIR_NAME, Settings, apply_offline_env
from safeship.errors import ExternalToolError, NotFoundError

DEFAULT_REMOTE = "safeship"


@dataclass(frozen=True)
class InitResult:
    project_root: Path
    state_dir: Path
    dvc_initialised: bool
    remote_name: str
    remote_url: str
    db_url: str


def is_git_repo(root: Path) -> bool:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return False
    return result.returncode == 0 and Path(result.stdout.strip()).resolve() == root.resolve()


def init_project(settings: Settings) -> InitResult:
    """Create the state folder, initialise DVC if needed and configure the default remote.

    Idempotent: running it again changes nothing that is already set up, and an existing
    default DVC remote chosen by the team is kept.
    """
    apply_offline_env(settings.state_dir)
    root = settings.project_root
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    (settings.state_dir / ".gitignore").write_text("*\n", encoding="utf-8")
    settings.dvc_remote_dir.mkdir(parents=True, exist_ok=True)
    from safeship.access.audit import ensure_service_key

    ensure_service_key(settings.state_dir)  # issue 14: this deployment's signing key

    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    initialised = False
    try:
        if not (root / ".dvc").is_dir():
            with contextlib.redirect_stdout(sys.stderr):  # keep --json output clean
                Repo.init(str(root), no_scm=not is_git_repo(root))
            initialised = True
        repo = Repo(str(root))
        try:
            with repo.config.edit("repo") as conf:
                conf["core"]["analytics"] = False
                team_remote = conf["core"].get("remote")
            if team_remote and team_remote != DEFAULT_REMOTE:
                # an earlier init's machine-local default would shadow the team's remote
                with repo.config.edit("local") as conf:
                    if conf["core"].get("remote") == DEFAULT_REMOTE:
                        del conf["core"]["remote"]
                remote_name = team_remote
                remote_url = str(repo.config["remote"][team_remote]["url"])
            else:
                # The embedded default: a folder under .safeship/, machine-local, so it goes
                # in .dvc/config.local (not committed); a team's own remote is kept as is.
                with repo.config.edit("local") as conf:
                    conf["remote"][DEFAULT_REMOTE] = {"url": str(settings.dvc_remote_dir)}
                    conf["core"]["remote"] = DEFAULT_REMOTE
                remote_name, remote_url = DEFAULT_REMOTE, str(settings.dvc_remote_dir)
        finally:
            repo.close()
    except DvcException as error:
        raise ExternalToolError(f"DVC could not be set up in {root}: {error}") from error

    from safeship.registry.store import Registry

    Registry.open(settings, create=True).close()
    return InitResult(
        root, settings.state_dir, initialised, remote_name, remote_url, settings.db_url
    )


def require_registry(settings: Settings) -> None:
    """Refuse, naming ``safeship init``, where a registry was expected but none exists.

    ``safeship init`` creates the registry; every other command opens it. A registry file
    that disappeared or a mistyped ``SAFESHIP_HOME`` must not silently start a new, empty
    registry (PostgreSQL: an empty database is refused when the schema is checked).
    """
    custom_home = settings.state_dir != settings.project_root / STATE_DIR_NAME
    if custom_home and not settings.state_dir.is_dir():
        raise NotFoundError(
            f"SAFESHIP_HOME={settings.state_dir} does not exist: check its spelling, or run "
            "`safeship init` to create the project state there"
        )
    if settings.is_sqlite:
        path = Path(settings.db_url.split("///", 1)[-1].split("?", 1)[0])
        if not path.is_file():
            raise NotFoundError(
                f"no registry at {path}: run `safeship init` to create one (or check "
                "SAFESHIP_HOME / SAFESHIP_DB_URL); safeship never starts an empty one silently"
            )
