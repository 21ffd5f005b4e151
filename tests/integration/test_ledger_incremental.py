"""Verifying only the events after a head verified before (the dashboard's background check)."""

from __future__ import annotations

import pytest

from safeship.errors import LedgerTampered
from safeship.registry.store import Registry
from tests.helpers import fill_ledger, tamper_ledger


def test_increment_checks_new_events_and_the_old_head(registry: Registry) -> None:
    fill_ledger(registry, 4)
    first = registry.verify_ledger()
    fill_ledger(registry, 3)
    step = registry.verify_ledger(after=(first.count, first.head_hash))
    whole = registry.verify_ledger()
    assert (step.count, step.head_hash) == (whole.count, whole.head_hash) == (7, whole.head_hash)
    assert step.signed + step.unsigned == 3  # only the new events were read
    tamper_ledger(registry, "UPDATE ledger_events SET payload = '{\"i\":9}' WHERE seq = 6")
    with pytest.raises(LedgerTampered, match="seq 6"):
        registry.verify_ledger(after=(first.count, first.head_hash))


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM ledger_events WHERE seq >= 4",
        "UPDATE ledger_events SET hash = 'x' WHERE seq = 4",
    ],
)
def test_increment_refuses_a_cut_or_rewritten_head(registry: Registry, statement: str) -> None:
    fill_ledger(registry, 4)
    head = registry.verify_ledger()
    tamper_ledger(registry, statement)
    with pytest.raises(LedgerTampered, match="seq 4"):
        registry.verify_ledger(after=(head.count, head.head_hash))
