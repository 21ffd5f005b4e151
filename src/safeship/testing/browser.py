"""A real headless browser (Debian's Chromium driven by Playwright) that may only talk to
127.0.0.1, and an in-process HTTP server for an ASGI app — for browser tests and the
demo's screenshots. Playwright is a dev dependency; it never downloads a browser here.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--headless"]
LOOPBACK = {"127.0.0.1", "localhost"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerThread:
    """Serve an ASGI app with uvicorn on a free loopback port in a daemon thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="dashboard")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the server on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def loopback_browser(width: int = 1400, height: int = 900) -> Iterator[tuple[Any, list[str]]]:
    """A page in headless Chromium; every request to a host other than 127.0.0.1 is
    aborted and its URL appended to the list yielded with the page."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def guard(route: Any) -> None:
        url = str(route.request.url)
        if url.startswith(("data:", "about:", "blob:")) or urlparse(url).hostname in LOOPBACK:
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.route("**/*", guard)
            yield context.new_page(), outside
        finally:
            browser.close()


def screenshots(pages: dict[str, str], out_dir: Path) -> list[Path]:
    """Open each URL and save a full-page PNG named after its key; return the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with loopback_browser() as (page, outside):
        for name, url in pages.items():
            response = page.goto(url, wait_until="load")
            if response is None or response.status >= 400:
                raise RuntimeError(f"{url} answered {response.status if response else 'nothing'}")
            target = out_dir / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            written.append(target)
    if outside:
        raise RuntimeError(f"a dashboard page asked for an outside address: {outside[:3]}")
    return written
