"""Signed checkpoints of the ledger head, kept outside the database (the DVC remote).

A hash chain shows an edit, but not that its newest events were cut off, nor a history
rewritten and re-chained by someone who can write the database. So the service writes
``<remote>/safeship-checkpoints/<seq>.json``: the head's sequence number and hash and the
time, signed with this deployment's service key (``access.audit``), at every release and on
the monitor's schedule. ``verify_checkpoints`` checks every file's signature against the
service key in the state folder (not a key the file names), then that the ledger still
reaches each checkpoint's ``seq`` (truncation) with the same hash there (a rewrite).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeship.access.audit import SERVICE, ensure_service_key, service_public_key
from safeship.access.identities import Signers
from safeship.access.signatures import decode_token, statement, verify
from safeship.errors import ConfigError, LedgerTampered, SignatureInvalid

PURPOSE = "checkpoint"
FOLDER = "safeship-checkpoints"


@dataclass(frozen=True)
class CheckpointReport:
    checked: int
    latest_seq: int | None
    location: str


def _remote(project_root: Path) -> tuple[Any, str]:
    """The DVC default remote's filesystem and the checkpoint folder path on it."""
    from safeship.registry.storage import dvc_repo

    with dvc_repo(project_root) as repo:
        remote = repo.cloud.get_remote(None, "push")  # its root, beside DVC's files/md5
        fs = remote.fs
        return fs, fs.join(remote.path, FOLDER)


def write_checkpoint(
    project_root: Path, state_dir: Path, seq: int, head_hash: str, reason: str
) -> str:
    """Sign (seq, hash, time) with the service key and write it to the remote."""
    key = ensure_service_key(state_dir)
    token = key.sign(statement(PURPOSE, SERVICE, seq=seq, hash=head_hash, reason=reason))
    document = {"statement": token, "public_key": key.public.openssh()}
    fs, folder = _remote(project_root)
    fs.makedirs(folder, exist_ok=True)
    path = fs.join(folder, f"{seq:012d}.json")
    with fs.open(path, "wb") as handle:
        handle.write(json.dumps(document, indent=1).encode())
    return str(path)


def _read(fs: Any, path: str, signers: Signers) -> dict[str, Any]:
    try:
        with fs.open(path, "rb") as handle:
            token = str(json.loads(handle.read())["statement"])
        payload = decode_token(token)[2]
        verify(token, signers, purpose=PURPOSE, max_age_s=None)
    except (ValueError, KeyError, TypeError, SignatureInvalid) as error:
        raise LedgerTampered(
            f"tampered checkpoint file {path}: {error}; it does not carry a valid "
            "signature of this deployment's service key"
        ) from error
    if not isinstance(payload.get("seq"), int) or not isinstance(payload.get("hash"), str):
        raise LedgerTampered(f"tampered checkpoint file {path}: no seq and hash in it")
    return payload


def verify_checkpoints(
    project_root: Path, state_dir: Path, hash_at: Callable[[int], str | None], head_seq: int
) -> CheckpointReport:
    """Check the ledger (``hash_at``: seq -> its hash) against every signed checkpoint."""
    service = service_public_key(state_dir)
    if service is None:
        raise ConfigError(
            f"no service key in {state_dir}: checkpoints cannot be checked; run `safeship init`"
        )
    signers = Signers(service=service, source=str(state_dir / "service_key.pub"))
    fs, folder = _remote(project_root)
    paths = sorted(fs.find(folder)) if fs.exists(folder) else []
    latest: int | None = None
    for path in paths:
        payload = _read(fs, path, signers)
        seq, expected = int(payload["seq"]), str(payload["hash"])
        if seq > head_seq:
            raise LedgerTampered(
                f"audit ledger truncated: checkpoint {path} (signed {payload['time']}) records "
                f"event seq {seq}, but the ledger ends at seq {head_seq}"
            )
        actual = hash_at(seq) if seq > 0 else None
        if seq > 0 and actual != expected:
            raise LedgerTampered(
                f"audit ledger rewritten: event seq {seq} has hash {str(actual)[:16]}, "
                f"the signed checkpoint {path} recorded {expected[:16]} (history was changed "
                "and re-chained)"
            )
        latest = seq if latest is None else max(latest, seq)
    return CheckpointReport(checked=len(paths), latest_seq=latest, location=folder)
