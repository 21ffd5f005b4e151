"""``audit verify`` names the first bad event for edits, removals, insertions, reorders."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from safeship.errors import LedgerTampered
from safeship.registry.store import Registry
from tests.helpers import fill_ledger, tamper_ledger


def test_intact_chain_verifies(registry: Registry) -> None:
    fill_ledger(registry)
    result = registry.verify_ledger()
    assert result.count == 6 and len(result.head_hash) == 64


@pytest.mark.parametrize(
    ("statements", "bad_seq"),
    [
        (["UPDATE ledger_events SET payload = '{\"i\":99}' WHERE seq = 3"], 3),
        (["UPDATE ledger_events SET actor = 'mallory' WHERE seq = 5"], 5),
        (["DELETE FROM ledger_events WHERE seq = 4"], 4),
        # insertion: shift later events up and put a forged event at 3
        (
            [
                "UPDATE ledger_events SET seq = seq + 100 WHERE seq >= 3",
                "UPDATE ledger_events SET seq = seq - 99 WHERE seq >= 103",
                "INSERT INTO ledger_events (seq, time, actor, kind, model, version, payload, prev_hash,"
                " hash) SELECT 3, time, 'mallory', 'note', model, version, '{}', hash, hash"
                " FROM ledger_events WHERE seq = 2",
            ],
            3,
        ),
        # reorder: swap events 2 and 3
        (
            [
                "UPDATE ledger_events SET seq = 100 WHERE seq = 2",
                "UPDATE ledger_events SET seq = 2 WHERE seq = 3",
                "UPDATE ledger_events SET seq = 3 WHERE seq = 100",
            ],
            2,
        ),
        (["DELETE FROM ledger_events WHERE seq = 1"], 1),
    ],
    ids=["edit-payload", "edit-actor", "remove", "insert", "reorder", "remove-first"],
)
def test_tampering_is_detected(registry: Registry, statements: list[str], bad_seq: int) -> None:
    fill_ledger(registry)
    tamper_ledger(registry, *statements)
    with pytest.raises(LedgerTampered, match=f"at seq {bad_seq}:"):
        registry.verify_ledger()


def test_history_query_uses_an_index(registry: Registry, project: Path) -> None:
    with registry.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
        plan = connection.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT * FROM deployment_history WHERE model_name = 'demo' "
                "AND at <= '2026' ORDER BY at DESC, seq DESC LIMIT 1"
            )
        ).all()
    assert "ix_deployment_history_model_at" in " ".join(str(row) for row in plan)
