"""Scheduled release: reproduce the DVC pipeline; release only when the lineage changed."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.deployments import run_deployment

from flows.release import release
from safeship.config import Settings
from safeship.lineage.pipeline import dvc_repro
from safeship.release.request import ReleaseRequest
from tasks.common import open_registry


@task(name="dvc-repro", cache_policy=NO_CACHE)
def dvc_repro_task() -> str:
    done = dvc_repro(Settings.from_env().project_root)
    if done.returncode != 0:
        raise RuntimeError(f"dvc repro failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout[-2000:]


@task(name="lineage-changed", cache_policy=NO_CACHE)
def changed_task(model: str, candidate_path: str) -> bool:
    from safeship.registry.registration import hash_artifact

    with open_registry() as registry:
        if not registry.has_model(model):
            return True
        manifest = hash_artifact(registry, registry.settings.project_root / candidate_path)
        return all(v.dir_hash != manifest.dir_hash for v in registry.versions(model))


@flow(name="scheduled-release")
def scheduled_release(model: str, candidate_path: str, author: str = "scheduler") -> dict[str, Any]:
    """Reproduce the DVC pipeline; when the candidate differs from every registered version,
    run a release with the version suggested by the lineage diff. Otherwise do nothing."""
    dvc_repro_task()
    if not changed_task(model, candidate_path):
        get_run_logger().info("lineage unchanged: nothing to release")
        return {"released": False}
    request = ReleaseRequest(
        model=model, candidate_path=candidate_path, author=author, notes="scheduled release"
    )
    context = FlowRunContext.get()
    if context is None or context.flow_run is None or context.flow_run.deployment_id is None:
        return {"released": True, "result": release(request)}
    # a run of its own, not a subflow: only a top-level deployment run can suspend while it
    # waits for approval, and so survive restarts
    run = run_deployment(
        "release/release",
        parameters={"request": request.model_dump(mode="json")},
        timeout=0,
        as_subflow=False,
    )
    get_run_logger().info("started release run %s", run.id)
    return {"released": True, "release_run": str(run.id)}
