"""The serving process: Prefect deployments of safeship's flows (run by `make up`).

The deployments are the ones ``prefect.yaml`` declares for a work pool (``make up-team``):
both come from :func:`scripts.deployments.specs`. ``python -m scripts.serve release`` serves
only the named deployments.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from prefect import serve

from safeship.params import load_params
from scripts.deployments import DeploymentSpec, specs


def _flow(spec: DeploymentSpec) -> Any:
    path, function = spec.entrypoint.split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return getattr(module, function)


def main(names: list[str] | None = None) -> None:
    params = load_params()
    chosen = [spec for spec in specs(params) if not names or spec.name in names]
    if names and len(chosen) != len(set(names)):
        known = ", ".join(spec.name for spec in specs(params))
        raise SystemExit(f"unknown deployment in {names}; known: {known}")
    serve(
        *(
            _flow(spec).to_deployment(
                name=spec.name,
                description=spec.description,
                cron=spec.cron,
                interval=spec.interval_s,
                parameters=spec.parameters,
            )
            for spec in chosen
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
