"""The CLI with enforced roles: keygen, signed promote/rollback, break-glass, refusals that
change nothing, and audit verify re-verifying the signatures (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.helpers import ok, run

ACCESS = {
    "enforce": True,
    "roles": {
        "promote": ["alice", "bob"],
        "rollback": ["alice"],
        "abort_canary": ["alice"],
        "force": ["alice"],
    },
}


def _setup_keys(project: Path) -> dict[str, Path]:
    lines = []
    keys = {}
    for name in ("alice", "bob"):
        path = project.parent / "keys" / name
        out = ok(project, "keygen", name, "--out", str(path))
        lines.append(out.strip().splitlines()[-1])
        keys[name] = path
    (project / ".allowed_signers").write_text("\n".join(lines) + "\n")
    (project / "params.yaml").write_text(yaml.safe_dump({"access": ACCESS}))
    return keys


def test_signed_moves_and_refusals(cli_project_any_db: Path) -> None:  # noqa: F811
    p = cli_project_any_db
    keys = _setup_keys(p)
    ok(p, "register", "demo", "m1", "--version", "1.0.0", "--author", "ann")
    ok(p, "register", "demo", "m2", "--version", "1.1.0", "--author", "ann")
    before = ok(p, "audit", "log", "--json")
    refusals = [
        (["--as", "bob", "--key", str(keys["bob"])], "'bob' may not force"),
        (["--as", "alice"], "needs their signature"),
        (["--as", "alice", "--key", str(keys["bob"])], "wrong key"),
        (["--as", "safeship-release"], "reserved"),
    ]
    for who, message in refusals:
        result = run(p, "promote", "demo", "1.0.0", *who, "--force", "--reason", "baseline")
        assert result.returncode != 0 and message in result.stderr, (who, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    assert ok(p, "audit", "log", "--json") == before  # nothing recorded, nothing changed
    ok(p, "promote", "demo", "1.0.0", "--as", "alice", "--key", str(keys["alice"]), "--force",
       "--reason", "baseline")  # fmt: skip
    ok(p, "promote", "demo", "1.1.0", "--as", "alice", "--key", str(keys["alice"]), "--force",
       "--reason", "next")  # fmt: skip
    ok(p, "rollback", "demo", "--as", "alice", "--key", str(keys["alice"]), "--reason", "bad")
    verified = json.loads(ok(p, "audit", "verify", "--json"))
    assert verified["signed"] == 3
    events = json.loads(ok(p, "audit", "log", "--json"))
    forced = [e for e in events if e["kind"] == "deployment.promoted"]
    assert all(e["payload"]["break_glass"] and e["actor"] == "alice" for e in forced)
    assert all(e["signature"].startswith("ssv1.") for e in forced)
