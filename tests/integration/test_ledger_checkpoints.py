"""Signed checkpoints on the DVC remote catch a cut tail and a re-chained rewrite; a tampered
checkpoint file is refused (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from safeship import ledger
from safeship.errors import LedgerTampered
from safeship.registry.store import Registry
from tests.helpers import fill_ledger, tamper_ledger


def _checkpoint_files(registry: Registry) -> list[Path]:
    folder = registry.settings.dvc_remote_dir / "safeship-checkpoints"
    return sorted(folder.glob("*.json"))


def _rechain(registry: Registry, edit_seq: int) -> None:
    """An attacker with the database edits one event and recomputes every later hash."""
    with registry.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM ledger_events ORDER BY seq")).all()
    running = ledger.GENESIS_HASH
    statements = []
    for row in rows:
        payload = '{"i":99}' if row.seq == edit_seq else row.payload
        document = ledger.event_document(
            row.seq, row.time, row.actor, row.kind, row.model, row.version, payload
        )
        digest = ledger.chain_hash(running, document)
        statements.append(
            f"UPDATE ledger_events SET payload = '{payload}', prev_hash = '{running}', "
            f"hash = '{digest}' WHERE seq = {row.seq}"
        )
        running = digest
    tamper_ledger(registry, *statements)


def test_checkpoints_agree_with_an_intact_ledger(registry: Registry) -> None:
    fill_ledger(registry, 4)
    registry.checkpoint("test")
    fill_ledger(registry, 2)
    registry.checkpoint("test")
    report = registry.verify_checkpoints()
    assert report.checked == 2 and report.latest_seq == 6
    document = json.loads(_checkpoint_files(registry)[-1].read_text())
    assert document["public_key"].startswith("ssh-ed25519 ")


def test_a_cut_tail_is_detected(registry: Registry) -> None:
    fill_ledger(registry, 6)
    registry.checkpoint("test")
    tamper_ledger(registry, "DELETE FROM ledger_events WHERE seq >= 5")
    assert registry.verify_ledger().count == 4  # the chain alone cannot tell
    with pytest.raises(LedgerTampered, match="truncated: .* seq 6, but the ledger ends at seq 4"):
        registry.verify_checkpoints()


def test_a_rechained_rewrite_is_detected(registry: Registry) -> None:
    fill_ledger(registry, 6)
    registry.checkpoint("test")
    _rechain(registry, 2)
    assert registry.verify_ledger().count == 6  # still chains
    with pytest.raises(LedgerTampered, match="rewritten: event seq 6"):
        registry.verify_checkpoints()


@pytest.mark.parametrize("edit", ["seq", "garbage", "foreign-key"])
def test_a_tampered_checkpoint_file_is_refused(registry: Registry, edit: str) -> None:
    from safeship.access.signatures import SigningKey, statement

    fill_ledger(registry, 3)
    registry.checkpoint("test")
    path = _checkpoint_files(registry)[-1]
    document = json.loads(path.read_text())
    if edit == "seq":  # claim a shorter ledger, keeping the old signature bytes
        body, sig = document["statement"].split(".")[1:]
        import base64

        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        payload["seq"] = 1
        forged = base64.urlsafe_b64encode(ledger.canonical_json(payload).encode()).decode()
        document["statement"] = f"ssv1.{forged.rstrip('=')}.{sig}"
    elif edit == "garbage":
        document["statement"] = "not a statement"
    else:  # signed, but by a key that is not this deployment's service key
        other = SigningKey.generate()
        document = {
            "statement": other.sign(
                statement("checkpoint", "safeship-service", seq=3, hash="0" * 64)
            ),
            "public_key": other.public.openssh(),
        }
    path.write_text(json.dumps(document))
    before = registry.count_rows()
    with pytest.raises(LedgerTampered, match="tampered checkpoint file"):
        registry.verify_checkpoints()
    assert registry.count_rows() == before
