"""The serving process: Prefect deployments of safeship's flows (run by `make up`).

The deployments are the ones ``prefect.yaml`` declares for a work pool (``make up-team``):
both come from :func:`scripts.deployments.specs`.
"""

from __future__ import annotations

import importlib
from typing import Any

from prefect import serve

from safeship.params import load_params
from scripts.deployments import DeploymentSpec, specs


def _flow(spec: DeploymentSpec) -> Any:
    path, function = spec.entrypoint.split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return getattr(module, function)


def main() -> None:
    params = load_params()
    serve(
        *(
            _flow(spec).to_deployment(
                name=spec.name,
                description=spec.description,
                cron=spec.cron,
                interval=spec.interval_s,
                parameters=spec.parameters,
            )
            for spec in specs(params)
        )
    )


if __name__ == "__main__":
    main()
