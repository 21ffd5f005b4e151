"""``safeship approve RUN_ID --as NAME [--key PATH] [--reject] [--comment TEXT]`` and
``safeship keygen NAME``.

``approve`` reads what the paused run asks approvers to sign (its ``approval.requested``
ledger event: run, model, version, artifact and safety-profile hashes), signs it with the
approver's ed25519 key, sends it as the Prefect form would, then waits for the run's
verdict on that input and exits non-zero with the reason when it was refused.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from safeship.cli.common import add_json_flag, open_registry
from safeship.cli.output import print_json
from safeship.errors import ConflictError, ExternalToolError, NotFoundError


def _subject(run_id: str) -> Any:
    from safeship.release.approvals import Subject

    with open_registry() as registry:
        from safeship.ledger import events
        from safeship.registry import db

        with db.read_connection(registry.engine) as connection:
            requested = events(connection, kind="approval.requested")
    for event in reversed(requested):
        if event.payload.get("run_id") == run_id:
            return Subject.model_validate({k: event.payload[k] for k in Subject.model_fields})
    raise NotFoundError(
        f"run {run_id} has not asked for approval in this registry (no approval.requested "
        "event): check the run id and SAFESHIP_DB_URL / SAFESHIP_HOME"
    )


def _verdict(run_id: str, digest: str, timeout_s: float) -> dict[str, Any]:
    """Poll the ledger for the run's verdict on the input with this signature digest."""
    from safeship.ledger import events
    from safeship.registry import db

    deadline = time.monotonic() + timeout_s
    with open_registry() as registry:
        while time.monotonic() < deadline:
            with db.read_connection(registry.engine) as connection:
                recent = events(connection, limit=200)
            for event in reversed(recent):
                payload = event.payload
                if (
                    event.kind.startswith("approval.")
                    and payload.get("run_id") == run_id
                    and payload.get("signature_digest") == digest
                ):
                    return {"kind": event.kind, "seq": event.seq, **payload}
            time.sleep(0.3)
    raise ExternalToolError(
        f"sent, but run {run_id} gave no verdict within {timeout_s:.0f} s: is it still being "
        "served? Check `safeship audit log`"
    )


def _approve(args: argparse.Namespace) -> int:
    from safeship.access.signatures import SigningKey, read_key_env, statement, token_digest
    from safeship.prefect_api import resume_with_input
    from safeship.release.approvals import PURPOSE, Decision, approval_statement

    decision: Decision = "reject" if args.reject else "approve"
    comment = args.comment or ""
    key = SigningKey.load(read_key_env(args.key))
    subject = _subject(args.run_id)
    token = key.sign(
        statement(PURPOSE, args.approver, **approval_statement(subject, decision, comment))
    )
    if args.print_signature:
        print(token)
        return 0
    run_input = {
        "approver": args.approver,
        "decision": decision,
        "comment": comment,
        "signature": token,
    }
    resume_with_input(args.run_id, run_input)
    verdict = _verdict(args.run_id, token_digest(token), args.wait_s)
    if args.json:
        print_json({"run_id": args.run_id, "outcome": verdict["outcome"], "verdict": verdict})
    else:
        print(f"{verdict['outcome']}: {verdict['reason']} (ledger seq {verdict['seq']})")
    if verdict["outcome"] == "refused":
        raise ConflictError(f"run {args.run_id} refused the approval: {verdict['reason']}")
    return 0


def _keygen(args: argparse.Namespace) -> int:
    from pathlib import Path

    from safeship.access.identities import normalise_name
    from safeship.access.signatures import SigningKey

    name = normalise_name(args.name)
    path = Path(args.out).expanduser()
    if path.exists():
        raise ConflictError(f"{path} exists: choose another --out or remove it first")
    key = SigningKey.generate()
    key.save(path, comment=f"{name}@safeship")
    print(f"wrote {path} and {path}.pub; add this line to the project's allowed_signers file:")
    print(f'{name} namespaces="safeship" {key.public.openssh()}')
    return 0


def add_commands(subparsers: Any) -> None:
    approve = subparsers.add_parser(
        "approve", help="sign and send an approval (or rejection) to a paused release run"
    )
    approve.add_argument("run_id")
    approve.add_argument("--as", dest="approver", required=True, help="your approver name")
    approve.add_argument(
        "--key", help="your ed25519 private key (default: $SAFESHIP_SIGNING_KEY, ~/.ssh/id_ed25519)"
    )
    approve.add_argument("--reject", action="store_true")
    approve.add_argument("--comment")
    approve.add_argument(
        "--print-signature",
        action="store_true",
        help="only print the signature (to paste into the Prefect UI form)",
    )
    approve.add_argument(
        "--wait-s", type=float, default=120, help="how long to wait for the run's verdict"
    )
    add_json_flag(approve)
    approve.set_defaults(handler=_approve)

    keygen = subparsers.add_parser(
        "keygen", help="make an ed25519 signing key and print its allowed_signers line"
    )
    keygen.add_argument("name")
    keygen.add_argument("--out", required=True, help="private key path (PATH.pub is the public)")
    keygen.set_defaults(handler=_keygen)
