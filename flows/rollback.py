"""Roll a model's production back to an earlier version (a deployment for the UI)."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks.common import artifact_key, open_registry


@task(name="rollback", cache_policy=NO_CACHE)
def rollback_task(model: str, to: str | None, actor: str, reason: str) -> dict[str, object]:
    with open_registry() as registry:
        event = registry.rollback(model, actor=actor, reason=reason, to=to)
        return event.to_dict()


@flow(name="rollback")
def rollback(
    model: str,
    reason: str = "manual rollback",
    actor: str = "operator",
    to: str | None = None,
) -> dict[str, object]:
    """Return production to the previous production version (or `to`); the version rolled
    back from becomes rejected. Takes effect at the gateway within a second."""
    event = rollback_task(model, to, actor, reason)
    payload = event["payload"]
    assert isinstance(payload, dict)
    get_run_logger().info(
        "%s rolled back from %s to %s", model, payload["from_version"], event["version"]
    )
    create_markdown_artifact(
        f"# Rollback of {model}\n\n- from `{payload['from_version']}` to `{event['version']}`\n"
        f"- by {actor}: {reason}\n- ledger event {event['seq']} `{event['hash']}`",
        key=artifact_key("rollback", model),
    )
    return event
