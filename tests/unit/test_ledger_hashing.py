from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safeship.errors import InputError
from safeship.ledger import canonical_json, chain_hash, event_document, format_time
from safeship.registry.hashing import HashCache, dir_hash, hash_directory


def test_event_document_is_canonical_json() -> None:
    doc = event_document(
        3,
        "2026-01-01T00:00:00.000000+00:00",
        "ann",
        "k",
        None,
        "1.0.0",
        canonical_json({"b": 1, "a": [1, "x"]}),
    )
    parsed = json.loads(doc)
    assert doc == canonical_json(parsed)
    assert parsed["payload"] == {"a": [1, "x"], "b": 1}


def test_chain_hash_depends_on_previous() -> None:
    assert chain_hash("0" * 64, "{}") != chain_hash("1" * 64, "{}")


def test_format_time_is_utc_and_sortable() -> None:
    assert (
        format_time(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
        == "2026-01-02T03:04:05.000006+00:00"
    )
    with pytest.raises(ValueError):
        format_time(datetime(2026, 1, 1))


def test_hash_directory_matches_dvc(tmp_path: Path) -> None:
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    (tmp_path / "m" / "sub").mkdir(parents=True)
    (tmp_path / "m" / "a.txt").write_text("alpha\r\n")
    (tmp_path / "m" / "sub" / "b.bin").write_bytes(bytes(range(256)) * 100)
    manifest = hash_directory(tmp_path / "m")
    fs = LocalFileSystem()
    odb = HashFileDB(fs, str(tmp_path / "cache"))
    _, _, obj = build(odb, str(tmp_path / "m"), fs, "md5")
    assert manifest.dir_hash == obj.hash_info.value
    assert {e.relpath: e.md5 for e in manifest.files}["a.txt"] == hashlib.md5(
        b"alpha\r\n"
    ).hexdigest()
    assert dir_hash(list(reversed(manifest.files))) == manifest.dir_hash


def test_warm_cache_is_used_and_invalidated(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "w").write_bytes(b"x" * 1000)
    cache = HashCache(tmp_path / "cache.db")
    first = hash_directory(folder, cache)
    stat = (folder / "w").stat()
    assert cache.get((folder / "w").resolve(), stat) == first.files[0].md5
    (folder / "w").write_bytes(b"y" * 1001)
    second = hash_directory(folder, cache)
    assert second.dir_hash != first.dir_hash
    cache.close()


@pytest.mark.parametrize("case", ["missing", "file", "empty"])
def test_bad_artifact_paths(tmp_path: Path, case: str) -> None:
    target = tmp_path / "x"
    if case == "file":
        target.write_text("not a dir")
    elif case == "empty":
        target.mkdir()
    with pytest.raises(
        InputError,
        match={"missing": "does not exist", "file": "not a directory", "empty": "is empty"}[case],
    ):
        hash_directory(target)


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "ok").write_text("x")
    (folder / "broken").symlink_to(tmp_path / "nowhere")
    with pytest.raises(InputError, match="broken"):
        hash_directory(folder)
