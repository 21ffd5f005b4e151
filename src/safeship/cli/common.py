"""Shared pieces of command handlers: opening the registry, parsing times, progress."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from safeship.errors import InputError

if TYPE_CHECKING:
    from safeship.registry.store import Registry


def open_registry(*, read_only: bool = False) -> Registry:
    """The project's registry; a command that changes nothing (``read_only``) skips
    validating ``params.yaml`` (the whole params stack is ~1/4 of such a command's time)."""
    from safeship.config import Settings, apply_offline_env
    from safeship.registry.store import Registry

    settings = Settings.from_env()
    if not read_only:
        from safeship.params import load_params

        load_params(settings.project_root)  # a malformed params.yaml is refused before any change
    apply_offline_env(settings.state_dir)
    return Registry.open(settings, create=False)  # only `safeship init` creates one


def parse_time(text: str) -> datetime:
    """ISO-8601; a time without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise InputError(
            f"invalid time {text!r}: use ISO-8601, for example 2026-11-23T18:00:00Z"
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


@contextmanager
def byte_progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr advanced by byte counts (only on a terminal)."""
    import sys

    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)


def warn(message: str) -> None:
    import sys

    print(f"warning: {message}", file=sys.stderr)


class LazyChoices:
    """argparse ``choices`` read from ``module.attribute`` only when a parse or help needs them.

    Keeps heavy packages (the drills) out of building the parser for unrelated commands.
    """

    def __init__(self, module: str, attribute: str) -> None:
        self._module = module
        self._attribute = attribute

    def _values(self) -> tuple[str, ...]:
        import importlib

        values: tuple[str, ...] = getattr(importlib.import_module(self._module), self._attribute)
        return values

    def __contains__(self, item: object) -> bool:
        return item in self._values()

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())
