"""The DVC remote on object storage: moto's S3 server (started and stopped here).

A team points DVC's default remote at ``s3://BUCKET/PATH`` with an ``endpointurl``;
credentials come from the environment. Registration pushes there, ``safeship verify``
re-hashes the objects in the bucket and names a tampered one, and a missing bucket is one
clear error that changes nothing in the registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import make_artifact

pytestmark = pytest.mark.slow
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "safeship-test",
    "AWS_SECRET_ACCESS_KEY": "safeship-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3-protocol server on a free loopback port, for this test only."""
    from safeship.stack import Stack

    pytest.importorskip("moto.server", reason="moto[server] is a dev dependency")
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    port = Stack.free_port()
    log = (tmp_path / "moto.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            assert server.poll() is None, (tmp_path / "moto.log").read_text()
            assert time.monotonic() < deadline, "moto's server did not start"
            time.sleep(0.2)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def _s3(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint)


def _safeship(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "safeship", *args],
        cwd=root,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _dvc(root: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, check=True, capture_output=True)


def test_register_verify_and_tamper_on_an_s3_remote(
    project: Path, s3_endpoint: str, tmp_path: Path
) -> None:
    s3 = _s3(s3_endpoint)
    s3.create_bucket(Bucket="models")
    assert _safeship(project, "init").returncode == 0  # first the embedded default remote
    _dvc(project, "remote", "add", "-d", "team", "s3://models/store")
    _dvc(project, "remote", "modify", "team", "endpointurl", s3_endpoint)
    init = _safeship(project, "init", "--json")
    assert init.returncode == 0, init.stderr
    assert "s3://models/store" in init.stdout  # the team's remote wins over the default

    make_artifact(tmp_path / "v1", seed="a")
    done = _safeship(project, "register", "s3-chat", str(tmp_path / "v1"), "--version", "1.0.0",
                     "--author", "ann")  # fmt: skip
    assert done.returncode == 0, done.stderr
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="models")["Contents"]]
    assert len(keys) == 4 and all(k.startswith("store/files/md5/") for k in keys), keys
    assert not any((project / ".safeship" / "dvc-remote").rglob("*.dir"))  # nothing local

    verified = _safeship(project, "verify", "s3-chat", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    locations = [c["location"] for c in json.loads(verified.stdout)[0]["checks"]]
    assert "remote models/store/files/md5" in locations

    # tamper with one object in the bucket: verify names it, in the remote only
    weights = next(k for k in keys if not k.endswith(".dir"))
    s3.put_object(Bucket="models", Key=weights, Body=b"tampered")
    tampered = _safeship(project, "verify", "s3-chat", "--json")
    assert tampered.returncode == 6
    checks = {c["location"]: c for c in json.loads(tampered.stdout)[0]["checks"]}
    assert checks["cache"]["ok"] is True
    assert len(checks["remote models/store/files/md5"]["changed"]) == 1


def test_a_missing_bucket_is_one_clear_error_and_changes_nothing(
    project: Path, s3_endpoint: str, tmp_path: Path
) -> None:
    assert _safeship(project, "init").returncode == 0
    _dvc(project, "remote", "add", "-d", "team", "s3://no-such-bucket/store")
    _dvc(project, "remote", "modify", "team", "endpointurl", s3_endpoint)
    assert _safeship(project, "init").returncode == 0
    before = _safeship(project, "audit", "verify", "--json").stdout

    make_artifact(tmp_path / "v1", seed="b")
    done = _safeship(project, "register", "s3-chat", str(tmp_path / "v1"), "--version", "1.0.0",
                     "--author", "ann")  # fmt: skip
    assert done.returncode != 0
    assert "bucket 'no-such-bucket'" in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert _safeship(project, "audit", "verify", "--json").stdout == before  # ledger unchanged
    assert _safeship(project, "versions", "s3-chat").returncode != 0  # nothing registered


def test_refused_credentials_are_one_clear_error_and_change_nothing(
    project: Path, s3_endpoint: str, tmp_path: Path
) -> None:
    _s3(s3_endpoint).create_bucket(Bucket="models")
    assert _safeship(project, "init").returncode == 0
    _dvc(project, "remote", "add", "-d", "team", "s3://models/store")
    _dvc(project, "remote", "modify", "team", "endpointurl", s3_endpoint)
    assert _safeship(project, "init").returncode == 0
    before = _safeship(project, "audit", "verify", "--json").stdout
    # from now on moto checks credentials: these keys belong to no IAM user (403)
    httpx.post(f"{s3_endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()

    make_artifact(tmp_path / "v1", seed="c")
    done = _safeship(project, "register", "s3-chat", str(tmp_path / "v1"), "--version", "1.0.0",
                     "--author", "ann")  # fmt: skip
    assert done.returncode != 0
    assert "s3://models/store" in done.stderr and "refused access" in done.stderr, done.stderr
    assert "AWS_ACCESS_KEY_ID" in done.stderr  # says where credentials come from
    assert "safeship-test-secret" not in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert _safeship(project, "audit", "verify", "--json").stdout == before  # ledger unchanged
    assert _safeship(project, "versions", "s3-chat").returncode != 0  # nothing registered
