"""One release per model at a time, across every worker: a Prefect global concurrency limit.

``release_slot(model)`` holds the one slot of the limit ``release-<model>`` (created with
limit 1 when missing) for the whole release run, including its approval pause. The slot is
a lease that the holding process renews: when a worker dies, the lease expires after
``LEASE_S`` and the next release can start. A second release of the same model waits at
most ``WAIT_S`` and then fails with a message naming the model.

A release run of a deployment *suspends* while it waits for approval (its process ends and
the slot is given back), so holding the slot also means checking that no release of the
model started earlier is suspended or resuming: the earlier run keeps the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress

from safeship.errors import ConflictError

LEASE_S = 120.0
WAIT_S = 10.0


def limit_name(model: str) -> str:
    """The limit's name: Prefect refuses some characters (``/ % & > <``) in names."""
    return "release-" + re.sub(r"[^A-Za-z0-9_.-]", "_", model)


def ensure_limit(name: str) -> None:
    """Create the global concurrency limit ``name`` with one slot, unless it exists."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
            return
        except ObjectNotFound:
            pass
        with suppress(ObjectAlreadyExists):  # another worker created it first
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))


@contextmanager
def release_slot(model: str, wait_s: float = WAIT_S) -> Iterator[ExitStack]:
    """Hold the model's release slot; :class:`ConflictError` when another release holds it.
    ``close()`` on what it yields gives the slot back early: a run does so just before it
    suspends, so a worker killed while the run is suspended cannot leave the slot taken."""
    from prefect.concurrency.sync import concurrency

    name = limit_name(model)
    ensure_limit(name)
    with ExitStack() as stack:
        try:
            stack.enter_context(
                concurrency(
                    name,
                    occupy=1,
                    timeout_seconds=wait_s,
                    lease_duration=LEASE_S,
                    strict=True,
                    # a paused release must not die of one failed renewal; the lease
                    # still expires LEASE_S after its holder is gone
                    raise_on_lease_renewal_failure=False,
                )
            )
        except TimeoutError as error:
            raise ConflictError(
                f"another release of {model} is running (Prefect concurrency limit {name!r} "
                "is taken): wait for it to finish, or end it, then start this release again"
            ) from error
        earlier = _earlier_release(model)
        if earlier is not None:
            raise ConflictError(
                f"another release of {model} is running: flow run {earlier} waits for "
                "approval (approve or reject it, or cancel it in the Prefect UI), then start "
                "this release again"
            )
        yield stack


def _earlier_release(model: str) -> str | None:
    """A suspended (or resuming) release run of ``model`` created before this run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return None
    own = context.flow_run
    waiting = FlowRunFilterStateType(
        any_=[StateType.PAUSED, StateType.SCHEDULED, StateType.PENDING]
    )
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[context.flow.name])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=waiting)),
        )
    for run in runs:
        state = run.state
        if state is None or run.id == own.id or run.deployment_id is None:
            continue
        if (run.parameters.get("request") or {}).get("model") != model:
            continue
        suspended = state.is_paused() and bool(state.state_details.pause_reschedule)
        resuming = state.name == "Resuming" or state.is_pending()
        created, mine = run.created, own.created
        if (suspended or resuming) and created and mine and created < mine:
            return str(run.id)
    return None
