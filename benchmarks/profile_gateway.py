"""A py-spy flame graph of one gateway worker under load (the openai adapter against the
fast loopback upstream, 16 callers), for finding what the hot path spends its time on.

    .venv/bin/pip install py-spy
    .venv/bin/python benchmarks/profile_gateway.py [--seconds 10] [--out reports/gateway-flame.svg]

Uses the same set-up, gateway process and load generator as ``bench_gateway.py``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gateway import (  # noqa: E402
    BODY,
    REMOTE,
    Gateway,
    Upstream,
    _rate,
    _register_remote,
    _setup,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", default="reports/gateway-flame.svg")
    parser.add_argument("--request-log", action="store_true", help="keep the request log on")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s")
    parser.add_argument(
        "--raw", action="store_true", help="collapsed stacks (text) instead of an SVG"
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds = 2.0
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="profile-gateway-") as tmp:
        settings, registry = _setup(Path(tmp))
        upstream = Upstream()
        try:
            _register_remote(registry, Path(tmp), upstream.url)
            extra = [] if args.request_log else ["--no-request-log"]
            gateway = Gateway(settings.project_root, *extra)
            try:
                record = subprocess.Popen(
                    [spy, "record", "-p", str(gateway.proc.pid), "-o", str(out),
                     "-d", str(int(args.seconds) + 2), "-r", "200", "--nonblocking",
                     "-f", "raw" if args.raw else "flamegraph"],
                )  # fmt: skip
                rate = _rate(gateway.url, args.seconds, 16, {**BODY, "model": REMOTE})
                record.wait(timeout=args.seconds + 60)
            finally:
                gateway.close()
        finally:
            upstream.close()
            registry.close()
    print(f"{rate:.0f} requests/s while profiling; flame graph: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
