"""Everything a page reads, opened once per dashboard process."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from safeship.dashboard.health import ScoreCache
from safeship.dashboard.sources import LedgerWatch

if TYPE_CHECKING:
    from safeship.config import Settings
    from safeship.gateway.requestlog import RequestLog
    from safeship.params import Params
    from safeship.registry.store import Registry


@dataclass
class Context:
    """The registry, policy, request log, reports folder and Prefect API of one project.

    ``base_url`` is where the dashboard is reachable (used in links written elsewhere, e.g.
    the approval form); ``prefect_api`` is None when Prefect should not be asked.
    """

    registry: Registry
    settings: Settings
    params: Params
    reports: Path
    prefect_api: str | None
    request_log_url: str | None
    health_window_s: int = 3600
    ledger: LedgerWatch = field(init=False)
    scores: ScoreCache = field(default_factory=ScoreCache)
    _request_log: RequestLog | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.ledger = LedgerWatch(self.registry)

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        prefect_api: str | None = None,
        request_log_url: str | None = None,
    ) -> Context:
        from safeship.config import Settings
        from safeship.gateway.requestlog import default_url
        from safeship.params import load_params
        from safeship.registry.store import Registry

        settings = settings or Settings.from_env()
        params = load_params(settings.project_root)
        return cls(
            registry=Registry.open(settings),
            settings=settings,
            params=params,
            reports=settings.project_root / "reports",
            prefect_api=prefect_api,
            request_log_url=request_log_url or default_url(settings),
        )

    @property
    def request_log(self) -> RequestLog | None:
        """The gateway's request log (read only here), or None when it has no location."""
        if self._request_log is None and self.request_log_url:
            from safeship.gateway.requestlog import RequestLog

            self._request_log = RequestLog(self.request_log_url)
        return self._request_log

    def close(self) -> None:
        self.ledger.stop()
        if self._request_log is not None:
            self._request_log.close()
        self.registry.close()
