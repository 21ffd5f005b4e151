"""Hostile artifact directories: links out of the root, loops, unreadable and special files.

Each is refused with one clear error before anything is copied; registry and ledger unchanged.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from safeship.errors import ConfigError, InputError
from safeship.registry.hashing import hash_directory
from safeship.registry.registration import register
from safeship.registry.store import Registry
from tests.helpers import make_artifact
from tests.reliability.support import snapshot


def _link_outside(folder: Path) -> None:
    (folder / "passwd").symlink_to("/etc/passwd")


def _link_outside_relative(folder: Path) -> None:
    secret = folder.parent / "secret.txt"
    secret.write_text("secret", encoding="utf-8")
    (folder / "tokenizer" / "leak.txt").symlink_to("../../secret.txt")


def _dir_link_outside(folder: Path) -> None:
    outside = folder.parent / "outside"
    outside.mkdir()
    (outside / "x.bin").write_bytes(b"x")
    (folder / "more").symlink_to(outside)


def _loop(folder: Path) -> None:
    (folder / "a").symlink_to("b")
    (folder / "b").symlink_to("a")


def _dir_loop(folder: Path) -> None:
    (folder / "tokenizer" / "up").symlink_to("..")


def _dangling(folder: Path) -> None:
    (folder / "gone").symlink_to("missing-file")


def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "pipe")


def _socket(folder: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock"))
    server.close()


def _device_link(folder: Path) -> None:
    (folder / "null").symlink_to("/dev/null")


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    "link to /etc/passwd": (_link_outside, "outside the artifact directory"),
    "relative link outside": (_link_outside_relative, "outside the artifact directory"),
    "directory link outside": (_dir_link_outside, "outside the artifact directory"),
    "link loop": (_loop, "loops"),
    "directory loop": (_dir_loop, "loops"),
    "dangling link": (_dangling, "points to nothing"),
    "fifo": (_fifo, "not a regular file"),
    "socket": (_socket, "not a regular file"),
    "device": (_device_link, "outside the artifact directory"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_artifact_is_refused_and_nothing_is_copied(
    registry: Registry, tmp_path: Path, case: str
) -> None:
    make_hostile, expected = HOSTILE[case]
    artifact = make_artifact(tmp_path / "artifact")
    make_hostile(artifact)
    before = snapshot(registry)
    with pytest.raises(InputError, match=expected) as caught:
        register(registry, model="m", path=artifact, version="1.0.0", author="a")
    assert "\n" not in str(caught.value)
    assert snapshot(registry) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a file with mode 000")
def test_unreadable_file_is_refused(registry: Registry, tmp_path: Path) -> None:
    artifact = make_artifact(tmp_path / "artifact")
    (artifact / "weights.bin").chmod(0)
    before = snapshot(registry)
    with pytest.raises(InputError, match="cannot read"):
        register(registry, model="m", path=artifact, version="1.0.0", author="a")
    assert snapshot(registry) == before


def test_links_inside_the_artifact_are_versioned_not_dropped(tmp_path: Path) -> None:
    artifact = make_artifact(tmp_path / "artifact")
    (artifact / "tok").symlink_to("tokenizer")
    (artifact / "weights-link.bin").symlink_to("weights.bin")
    paths = {entry.relpath for entry in hash_directory(artifact).files}
    assert {"tok/vocab.txt", "tokenizer/vocab.txt", "weights-link.bin"} <= paths


def test_linked_directory_is_registered_with_its_files(registry: Registry, tmp_path: Path) -> None:
    artifact = make_artifact(tmp_path / "artifact")
    (artifact / "tok").symlink_to("tokenizer")
    result = register(registry, model="m", path=artifact, version="1.0.0", author="a")
    assert "tok/vocab.txt" in {f["path"] for f in result.record.manifest["files"]}


@pytest.mark.parametrize("adapter", ["nonsense", "", 3])
def test_unknown_adapter_is_refused_naming_the_known_ones(
    registry: Registry, tmp_path: Path, adapter: object
) -> None:
    artifact = make_artifact(tmp_path / "artifact", config={"adapter": adapter, "order": 3})
    before = snapshot(registry)
    with pytest.raises(ConfigError, match="unknown adapter .*known adapters: ngram, ") as caught:
        register(registry, model="m", path=artifact, version="1.0.0", author="a")
    assert "\n" not in str(caught.value)
    assert snapshot(registry) == before
