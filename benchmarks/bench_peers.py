"""safeship side by side with the tools users would pick instead, in one run.

    .venv/bin/python benchmarks/bench_peers.py [--versions 20] [--requests 200] [--quick]

Peers are installed into throw-away virtual environments under a temporary folder (pip,
from the package index this machine can reach); a peer that cannot be installed is
skipped with a message. Nothing is left behind.

* Registration: in-process ``safeship.registry.registration.register`` of a small model
  folder (new content each time: hash, DVC cache, push, ledger) against MLflow's
  ``MlflowClient.create_model_version`` on a SQLite tracking store; then the same
  unchanged folder registered again (warm). Median per version.
* Promotion: ``Registry.promote`` against MLflow's ``set_registered_model_alias`` (an
  alias move is how MLflow 2+/3 points "production" at a version). Median per move.
* Gateway: added latency (p50, serial) over the same fast loopback upstream
  (benchmarks/_fast_upstream.py) through ``safeship gateway`` and through the LiteLLM
  proxy (``litellm --config``), alternating.

Prints ratios safeship/peer (< 1: safeship is faster). Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_seconds, header, median, percentile, table  # noqa: E402
from bench_gateway import (  # noqa: E402
    BODY,
    REMOTE,
    Gateway,
    Upstream,
    _free_port,
    _register_remote,
    _serial,
    _setup,
    _wait_until,
)

MLFLOW_SCRIPT = r"""
import json, sys, time, statistics
from mlflow import MlflowClient
import mlflow
n = int(sys.argv[2])
mlflow.set_tracking_uri("sqlite:///" + sys.argv[1])
client = MlflowClient()
client.create_registered_model("bench")
create, alias = [], []
for i in range(n):
    t = time.perf_counter()
    v = client.create_model_version("bench", source=f"file:///tmp/model-{i}", run_id=None)
    create.append(time.perf_counter() - t)
    t = time.perf_counter()
    client.set_registered_model_alias("bench", "production", v.version)
    alias.append(time.perf_counter() - t)
print(json.dumps({"create": statistics.median(create[1:]), "alias": statistics.median(alias[1:])}))
"""

MASTER_KEY = "sk-bench-" + "0" * 32  # the proxy refuses to start without a strong one
MLFLOW_PACKAGES = ["mlflow-skinny", "sqlalchemy", "alembic"]
LITELLM_CONFIG = """model_list:
  - model_name: {model}
    litellm_params:
      model: text-completion-openai/upstream
      api_base: {base}
      api_key: none
"""


def venv_with(scratch: Path, name: str, packages: list[str]) -> Path | None:
    """A throw-away venv with ``packages``, or None (and a message) if pip fails."""
    folder = scratch / name
    python = folder / "bin" / "python"
    if (folder / ".installed").exists():  # --venvs: reused from an earlier run
        return python
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        print(f"skipped {name}: pip install {' '.join(packages)} failed: {' / '.join(tail)}")
        return None
    (folder / ".installed").touch()
    return python


def bench_registration(base: Path, versions: int) -> dict[str, float]:
    """safeship register (new content / unchanged) and promote, in process."""
    from safeship.config import Settings
    from safeship.project import init_project
    from safeship.registry.registration import register
    from safeship.registry.store import Registry

    root = base / "ss-project"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    settings = Settings(project_root=root, state_dir=root / ".safeship",
                        db_url=f"sqlite:///{root / '.safeship' / 'registry.db'}")  # fmt: skip
    init_project(settings)
    registry = Registry.open(settings)
    model = base / "model"
    model.mkdir()
    new, warm, promote = [], [], []
    try:
        for i in range(versions):
            (model / "weights.bin").write_bytes(os.urandom(64 * 1024))
            (model / "config.json").write_text(json.dumps({"adapter": "ngram", "i": i}))
            started = time.perf_counter()
            register(registry, model="bench", path=model, version=f"1.{i}.0", author="bench")
            new.append(time.perf_counter() - started)
            started = time.perf_counter()
            register(registry, model="bench", path=model, version=f"1.{i}.1", author="bench")
            warm.append(time.perf_counter() - started)
            for status in ("validated", "gated", "approved"):
                registry.move_status("bench", f"1.{i}.0", status, actor="bench")
            started = time.perf_counter()
            registry.promote("bench", f"1.{i}.0", actor="bench")
            promote.append(time.perf_counter() - started)
    finally:
        registry.close()
    # the first of each is the cold start of the process (imports, DVC handle): not counted
    return {"new": median(new[1:]), "warm": median(warm[1:]), "promote": median(promote[1:])}


def bench_litellm(python: Path, base: Path, settings: Any, n: int) -> tuple[float, float] | None:
    """(safeship p50, LiteLLM p50): serial requests through each to the same upstream."""
    upstream = Upstream()
    try:
        config = base / "litellm.yaml"
        config.write_text(LITELLM_CONFIG.format(model=REMOTE, base=upstream.url + "/v1"))
        port = _free_port()
        proxy_log = (base / "litellm.log").open("wb")
        proxy = subprocess.Popen(
            [str(python.with_name("litellm")), "--config", str(config), "--port", str(port),
             "--num_workers", "1"],
            stdout=proxy_log, stderr=subprocess.STDOUT,
            env={**os.environ, "LITELLM_TELEMETRY": "False", "LITELLM_MASTER_KEY": MASTER_KEY},
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            # the proxy imports a great deal: allow it minutes on a loaded machine
            _wait_until(lambda: httpx.get(url + "/health/liveliness", timeout=2), proxy, 300)
        except RuntimeError:
            proxy.terminate()
            proxy.wait(timeout=30)
            tail = (base / "litellm.log").read_text(errors="replace").strip().splitlines()[-3:]
            print(f"skipped LiteLLM: the proxy did not start: {' / '.join(tail)}")
            return None
        from safeship.registry.store import Registry

        registry = Registry.open(settings)
        _register_remote(registry, base, upstream.url)
        registry.close()
        gateway = Gateway(settings.project_root)
        body = {**BODY, "model": REMOTE}
        ours: list[float] = []
        theirs: list[float] = []
        try:
            for _ in range(3):
                ours += _serial(gateway.url, n, body, {})
                theirs += _serial(url, n, body, {"Authorization": f"Bearer {MASTER_KEY}"})
        finally:
            gateway.close()
            proxy.terminate()
            proxy.wait(timeout=30)
        return percentile(ours, 50), percentile(theirs, 50)
    finally:
        upstream.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="smoke run: small counts")
    parser.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM proxy")
    parser.add_argument("--no-mlflow", action="store_true", help="skip MLflow")
    parser.add_argument(
        "--venvs", type=Path, help="keep the peers' venvs in this folder and reuse them"
    )
    args = parser.parse_args()
    if args.quick:
        args.versions, args.requests = 5, 30
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    header("safeship vs peers")
    sys.stdout.flush()
    scratch = Path(tempfile.mkdtemp(prefix="bench-peers-", dir="/tmp"))
    rows: list[list[str]] = []
    try:
        ours = bench_registration(scratch, args.versions)
        venvs = args.venvs or scratch
        python = None if args.no_mlflow else venv_with(venvs, "mlflow", MLFLOW_PACKAGES)
        if python is not None:
            done = subprocess.run(
                [str(python), "-c", MLFLOW_SCRIPT, str(scratch / "mlflow.db"), str(args.versions)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                print(f"skipped MLflow: {done.stderr.strip().splitlines()[-1:]}")
            else:
                mlflow = json.loads(done.stdout.strip().splitlines()[-1])
                rows += [
                    ["register a version (new content) vs create_model_version",
                     fmt_seconds(ours["new"]), fmt_seconds(mlflow["create"]),
                     f"{ours['new'] / mlflow['create']:.2f}x"],
                    ["re-register unchanged files vs create_model_version",
                     fmt_seconds(ours["warm"]), fmt_seconds(mlflow["create"]),
                     f"{ours['warm'] / mlflow['create']:.2f}x"],
                    ["promote vs set_registered_model_alias", fmt_seconds(ours["promote"]),
                     fmt_seconds(mlflow["alias"]), f"{ours['promote'] / mlflow['alias']:.2f}x"],
                ]  # fmt: skip
                print(
                    table(["measure", "safeship", "peer", "ratio safeship/peer"], rows), flush=True
                )
        if not args.no_litellm:
            python = venv_with(venvs, "litellm", ["litellm[proxy]"])
            if python is not None:
                settings, registry = _setup(scratch / "gw")
                registry.close()
                found = bench_litellm(python, scratch / "gw", settings, args.requests)
                if found is not None:
                    rows.append(["gateway p50 over the same upstream (serial)",
                                 fmt_seconds(found[0]), fmt_seconds(found[1]),
                                 f"{found[0] / found[1]:.2f}x"])  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(table(["measure", "safeship", "peer", "ratio safeship/peer"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
