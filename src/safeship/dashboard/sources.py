"""What the dashboard reads besides the registry: the Prefect API, the ledger check, bundles.

Everything here degrades: an unreachable Prefect API gives a ``PrefectView`` saying so
(the pages still render), a ledger check that has not run yet says "not checked yet".
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from safeship.errors import LedgerTampered
from safeship.registry.base import RegistryBase


class PausedRun(BaseModel):
    id: str
    name: str
    url: str
    paused_since: str | None = None


class PrefectView(BaseModel):
    """Paused flow runs, or why they could not be read."""

    api_url: str
    ui_url: str
    reachable: bool
    error: str | None = None
    paused: list[PausedRun] = []


def prefect_view(api_url: str, timeout_s: float = 1.5) -> PrefectView:
    """The paused flow runs on the Prefect server at ``api_url`` (never raises)."""
    import httpx

    ui_url = api_url.rstrip("/").removesuffix("/api")
    view = PrefectView(api_url=api_url, ui_url=ui_url, reachable=False)
    body = {"flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}}, "limit": 200}
    try:
        response = httpx.post(
            api_url.rstrip("/") + "/flow_runs/filter", json=body, timeout=timeout_s
        )
        response.raise_for_status()
        runs = response.json()
    except (httpx.HTTPError, ValueError) as error:
        view.error = f"{type(error).__name__}: {error}"[:300]
        return view
    view.reachable = True
    view.paused = [
        PausedRun(
            id=str(run["id"]),
            name=str(run.get("name") or run["id"]),
            url=f"{ui_url}/runs/flow-run/{run['id']}",
            paused_since=(run.get("state") or {}).get("timestamp"),
        )
        for run in runs
    ]
    return view


class LedgerCheck(BaseModel):
    ok: bool | None = None  # None: not checked yet
    count: int = 0
    head_hash: str | None = None
    error: str | None = None
    checked_at: float | None = None
    seconds: float | None = None


class LedgerWatch:
    """Recomputes the hash chain (``ledger.verify``) off the request path.

    A full check of a million events takes seconds, so pages show the latest result and
    when it ran; ``refresh`` runs a full one now. ``start`` keeps checking in the
    background: when the ledger's head moved, only the events after the last verified head
    (which must still be there, unchanged); the whole chain again every ``interval_s`` at
    the soonest, and no sooner than ``FULL_PAUSE`` times the last full check took, so a
    ledger of tens of millions of events does not keep a core busy.
    """

    FULL_PAUSE = 20

    def __init__(self, registry: RegistryBase, interval_s: float = 60.0) -> None:
        self.registry = registry
        self.interval_s = interval_s
        self.result = LedgerCheck()
        self._checked_head = -1
        self._full_at = 0.0
        self._full_s = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self, full: bool = True) -> LedgerCheck:
        started = time.perf_counter()
        head = self.registry.change_counter()
        last = self.result
        after = None
        if not full and last.ok and last.count and last.head_hash is not None:
            after = (last.count, last.head_hash)
        try:
            verified = self.registry.verify_ledger(after=after)
            result = LedgerCheck(ok=True, count=verified.count, head_hash=verified.head_hash)
        except LedgerTampered as error:
            result = LedgerCheck(ok=False, error=str(error))
        result.checked_at = time.time()
        result.seconds = round(time.perf_counter() - started, 3)
        if after is None:
            self._full_at, self._full_s = result.checked_at, result.seconds
        self.result, self._checked_head = result, head
        return result

    def _run(self) -> None:
        while not self._stop.is_set():
            since_full = time.time() - self._full_at
            full_due = since_full > max(self.interval_s, self.FULL_PAUSE * self._full_s)
            if full_due or self.registry.change_counter() != self._checked_head:
                from safeship.incidents import sync

                sync(self.registry)  # rollbacks, failed drills, alerts open incidents
                self.refresh(full=full_due)
            self._stop.wait(2.0)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ledger-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()


class Bundle(BaseModel):
    """One release bundle (``reports/<model>/<version>/<run-id>/``) and its files."""

    run_id: str
    path: str  # relative to the reports root
    files: list[str]
    release: dict[str, Any] | None = None
    modified: float = 0.0


def bundles(reports: Path, model: str, version: str) -> list[Bundle]:
    """The bundles of one version, newest first."""
    folder = reports / model / version
    if not folder.is_dir():
        return []
    found: list[Bundle] = []
    for run in folder.iterdir():
        if not run.is_dir():
            continue
        files = sorted(p.relative_to(reports).as_posix() for p in run.rglob("*") if p.is_file())
        release_path = run / "release.json"
        release = json.loads(release_path.read_text()) if release_path.is_file() else None
        found.append(
            Bundle(
                run_id=run.name,
                path=run.relative_to(reports).as_posix(),
                files=files,
                release=release,
                modified=run.stat().st_mtime,
            )
        )
    return sorted(found, key=lambda b: b.modified, reverse=True)


def newest_file(reports: Path, found: list[Bundle], suffix: str) -> Path | None:
    """The newest bundle file whose path ends with ``suffix`` (e.g. safety/outputs.parquet)."""
    for bundle in found:
        for name in bundle.files:
            if name.endswith(suffix):
                return reports / name
    return None
