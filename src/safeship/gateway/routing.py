"""Routing snapshots: which loaded version answers a request, decided without locks.

The follower builds a new :class:`Snapshot` off to the side and publishes it with one
reference assignment; a request reads the reference once and routes from that object
only, so it never sees half a switch. Canary assignment is sticky: a caller's bucket is
``sha256(model + caller) mod 100`` and the caller goes to the canary when the bucket is
below the weight, so raising the weight only ever adds callers to the canary.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from safeship.gateway import errors

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from safeship.models.base import Generator

Role = Literal["stable", "canary", "shadow", "pinned"]
PIN_SEPARATOR = "@"


@dataclass(frozen=True, eq=False)
class LoadedVersion:
    """A version whose files were verified against the catalog and whose adapter loaded."""

    model: str
    version: str
    dir_hash: str
    adapter: str | None
    path: Path
    generator: Generator
    loaded_at: float


@dataclass(frozen=True)
class ModelRoutes:
    """One model's deployment as served: loaded versions, canary weight, known statuses."""

    model: str
    stable: LoadedVersion | None
    canary: LoadedVersion | None = None
    canary_weight: int = 0
    shadow: LoadedVersion | None = None
    statuses: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: the registry's wish where it differs from what is served (a refused load), for /healthz
    wanted: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Snapshot:
    """Everything routing needs, immutable; replaced whole on every change."""

    seq: int
    models: Mapping[str, ModelRoutes]
    built_at: float

    def served_models(self) -> list[str]:
        return sorted(name for name, routes in self.models.items() if routes.stable is not None)

    def loaded(self) -> list[tuple[str, LoadedVersion]]:
        """(role, version) for every version this snapshot serves."""
        out: list[tuple[str, LoadedVersion]] = []
        for routes in self.models.values():
            for role, loaded in (
                ("stable", routes.stable),
                ("canary", routes.canary),
                ("shadow", routes.shadow),
            ):
                if loaded is not None:
                    out.append((role, loaded))
        return out


EMPTY = Snapshot(seq=-1, models=MappingProxyType({}), built_at=0.0)


@dataclass(frozen=True, slots=True)
class Route:
    """The decision for one request: who answers, in which role, and who is mirrored."""

    model: str
    role: Role
    target: LoadedVersion | None  # None: a pinned version that is not loaded yet
    version: str
    shadow: LoadedVersion | None = None


def bucket(model: str, caller: str) -> int:
    """A caller's stable bucket in 0..99 for ``model``."""
    digest = hashlib.sha256(f"{model}\n{caller}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def split_model(name: str) -> tuple[str, str | None]:
    """``"demo-chat@1.0.0"`` → ``("demo-chat", "1.0.0")``; no pin → ``(name, None)``."""
    if PIN_SEPARATOR in name:
        model, _, version = name.partition(PIN_SEPARATOR)
        if not model or not version:
            raise errors.invalid(
                f"model {name!r} is malformed: use MODEL or MODEL@VERSION (e.g. demo-chat@1.0.0)",
                param="model",
            )
        return model, version
    return name, None


def choose(
    snapshot: Snapshot,
    model: str,
    *,
    caller: str | None,
    pin: str | None,
    deployable: frozenset[str],
) -> Route:
    """Route one request, or raise a :class:`GatewayError` (unknown model, bad pin)."""
    routes = snapshot.models.get(model)
    if routes is None:
        raise errors.model_not_found(model, snapshot.served_models())
    if pin is not None:
        status = routes.statuses.get(pin)
        if status is None:
            raise errors.version_not_found(model, pin, list(routes.statuses))
        if status not in deployable:
            raise errors.version_not_deployable(model, pin, status, sorted(deployable))
        pinned = next(
            (
                v
                for v in (routes.stable, routes.canary, routes.shadow)
                if v is not None and v.version == pin
            ),
            None,
        )
        return Route(model=model, role="pinned", target=pinned, version=pin)
    if routes.stable is None:
        raise errors.unavailable(
            f"model {model!r} has no version that can be served yet (its production version "
            "is not loaded: see /healthz)",
            code="no_version_loaded",
        )
    target = routes.stable
    role: Role = "stable"
    if routes.canary is not None and routes.canary_weight > 0:
        # an anonymous request draws a fresh bucket: same distribution, no hashing
        drawn = bucket(model, caller) if caller is not None else random.randrange(100)  # noqa: S311
        if drawn < routes.canary_weight:
            target, role = routes.canary, "canary"
    shadow = routes.shadow
    if shadow is not None and shadow.version == target.version:
        shadow = None
    return Route(model=model, role=role, target=target, version=target.version, shadow=shadow)
