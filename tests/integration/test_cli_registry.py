"""The CLI as a user runs it: one-line errors, exit codes, --json, concurrency, integrity."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.helpers import SAFESHIP, make_artifact, ok, run


def _state(project: Path) -> tuple[str, str]:
    return ok(project, "versions", "demo", "--json"), ok(project, "audit", "log", "--json")


def test_walkthrough_with_json(cli_project_any_db: Path) -> None:
    p = cli_project_any_db
    ok(p, "register", "demo", "m1", "--version", "1.0.0", "--author", "ann", "--risk-tier", "low")
    ok(p, "register", "demo", "m2", "--version", "1.1.0", "--parent", "1.0.0", "--author", "ann")
    assert [m["name"] for m in json.loads(ok(p, "models", "--json"))] == ["demo"]
    shown = json.loads(ok(p, "show", "demo", "1.1.0", "--json"))
    assert shown["parent_version"] == "1.0.0" and shown["manifest"]["dir_hash"].endswith(".dir")
    ok(p, "promote", "demo", "1.0.0", "--actor", "bob", "--force", "--reason", "baseline")
    ok(p, "promote", "demo", "1.1.0", "--actor", "bob", "--force", "--reason", "demo")
    ok(p, "rollback", "demo", "--actor", "bob", "--reason", "regression")
    status = json.loads(ok(p, "status", "demo", "--json"))
    assert status[0]["production"] == "1.0.0"
    verified = run(p, "audit", "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["events"] == 5
    assert json.loads(ok(p, "verify", "demo", "--json"))[0]["ok"] is True
    history = json.loads(
        ok(p, "audit", "history", "demo", "--at", "2000-01-01T00:00:00Z", "--json")
    )
    assert history["production"] is None
    diff = json.loads(ok(p, "lineage", "diff", "demo", "1.0.0", "1.1.0", "--json"))
    assert "weights.bin" in diff["files"]["changed"]
    assert "graph LR" in ok(p, "lineage", "demo", "1.1.0", "--format", "mermaid")
    assert "digraph" in ok(p, "lineage", "demo", "1.1.0", "--format", "dot")


BAD_INPUTS = [
    (["register", "demo", "m1", "--version", "1.0"], "invalid version '1.0'"),
    (["register", "demo", "m1", "--version", "1.0.0"], "already has version '1.0.0'"),
    (["register", "demo", "missing", "--version", "2.0.0"], "does not exist"),
    (["register", "demo", "m2", "--version", "2.0.0", "--parent", "0.9.0"], "no version '0.9.0'"),
    (["promote", "demo", "1.0.0", "--actor", "bob"], "only an approved version"),
    (["rollback", "demo", "--actor", "bob", "--reason", "x"], "no production version"),
    (["show", "nope", "1.0.0"], "unknown model 'nope'"),
    (["show", "demo", "3.0.0"], "no version '3.0.0'"),
]


def test_bad_input_one_line_error_and_nothing_changes(cli_project: Path) -> None:
    ok(cli_project, "register", "demo", "m1", "--version", "1.0.0")
    before = _state(cli_project)
    for args, message in BAD_INPUTS:
        result = run(cli_project, *args)
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert _state(cli_project) == before


def test_empty_and_unreadable_paths(cli_project: Path) -> None:
    (cli_project / "empty").mkdir()
    bad = make_artifact(cli_project / "bad")
    (bad / "dangling").symlink_to(cli_project / "nowhere")
    assert "is empty" in run(cli_project, "register", "demo", "empty", "--version", "1.0.0").stderr
    assert "cannot read" in run(cli_project, "register", "demo", "bad", "--version", "1.0.0").stderr
    assert (
        "not a directory"
        in run(cli_project, "register", "demo", "m1/config.json", "--version", "1.0.0").stderr
    )
    assert json.loads(ok(cli_project, "models", "--json")) == []


def test_malformed_params_names_key_and_value(cli_project: Path) -> None:
    (cli_project / "params.yaml").write_text(
        "release:\n  tiers:\n    high:\n      approvals_required: 0\n"
    )
    result = run(cli_project, "register", "demo", "m1", "--version", "1.0.0")
    assert result.returncode != 0
    assert "release.tiers.high.approvals_required" in result.stderr and "0" in result.stderr
    (cli_project / "params.yaml").unlink()
    assert json.loads(ok(cli_project, "models", "--json")) == []


def test_unreachable_database_is_one_line(project: Path) -> None:
    env = {"SAFESHIP_DB_URL": "postgresql://postgres@127.0.0.1:1/none"}
    result = run(project, "models", env=env)
    assert result.returncode == 5
    assert "cannot reach the registry database" in result.stderr
    assert "Traceback" not in result.stderr
    debug = run(project, "--debug", "models", env=env)
    assert "Traceback" in debug.stderr


def test_same_version_registered_by_two_processes(cli_project_any_db: Path) -> None:
    cli_project = cli_project_any_db
    make_artifact(cli_project / "big", seed="c" * 2000)
    procs = [
        subprocess.Popen(
            [*SAFESHIP, "register", "demo", folder, "--version", "1.0.0"],
            cwd=cli_project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in ("m1", "big")
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 4], results
    assert any("already has version '1.0.0'" in err for _, err in results)
    versions = json.loads(ok(cli_project, "versions", "demo", "--json"))
    assert len(versions) == 1
    events = json.loads(ok(cli_project, "audit", "log", "--json"))
    assert [e["kind"] for e in events] == ["version.registered"]


def test_verify_names_changed_missing_and_extra(cli_project: Path) -> None:
    ok(cli_project, "register", "demo", "m1", "--version", "1.0.0")
    remote = cli_project / ".safeship" / "dvc-remote" / "files" / "md5"
    record = json.loads(ok(cli_project, "show", "demo", "1.0.0", "--json"))
    weights_md5 = next(f["md5"] for f in record["manifest"]["files"] if f["path"] == "weights.bin")
    vocab_md5 = next(
        f["md5"] for f in record["manifest"]["files"] if f["path"] == "tokenizer/vocab.txt"
    )
    weights = remote / weights_md5[:2] / weights_md5[2:]
    weights.chmod(0o644)
    weights.write_bytes(b"tampered")
    (remote / vocab_md5[:2] / vocab_md5[2:]).unlink()
    result = run(cli_project, "verify", "demo", "1.0.0")
    assert result.returncode == 6
    assert (
        "changed: weights.bin" in result.stdout and "missing: tokenizer/vocab.txt" in result.stdout
    )
    kinds = [e["kind"] for e in json.loads(ok(cli_project, "audit", "log", "--json"))]
    assert kinds[-1] == "integrity.failed"


def test_bump_warning(cli_project: Path) -> None:
    ok(cli_project, "register", "demo", "m1", "--version", "1.0.0")
    make_artifact(cli_project / "m3", seed="a", config={"adapter": "ngram", "order": 4, "seed": 1})
    result = run(cli_project, "register", "demo", "m3", "--version", "1.0.1", "--parent", "1.0.0")
    assert result.returncode == 0
    assert "suggests a major bump" in result.stderr
