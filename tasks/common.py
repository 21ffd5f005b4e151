"""What every task module shares: the task decorator without result caching, the registry
opener and the params loader."""

from __future__ import annotations

import re
from functools import partial

from prefect import task as prefect_task
from prefect.cache_policies import NO_CACHE

from safeship.config import Settings, apply_offline_env
from safeship.params import Params, load_params
from safeship.registry.store import Registry

# Registry state is the source of truth; Prefect's result cache must not replay steps.
task = partial(prefect_task, cache_policy=NO_CACHE)


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key from its parts (keys allow lowercase letters, digits, dashes)."""
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")[:100]


def open_registry() -> Registry:
    settings = Settings.from_env()
    apply_offline_env(settings.state_dir)
    return Registry.open(settings, create=False)  # only `safeship init` creates one


@task(name="load-params")
def load_params_task() -> Params:
    return load_params(Settings.from_env().project_root)
