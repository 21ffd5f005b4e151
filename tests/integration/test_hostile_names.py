"""Hostile model names and versions: one clear error each, nothing stored, ledger unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeship.errors import InputError
from safeship.registry.names import validate_model_name, validate_version, version_path
from safeship.registry.registration import register
from safeship.registry.store import Registry
from tests.helpers import make_artifact
from tests.reliability.support import snapshot

BAD_NAMES = [
    "team/model",
    "../../escape",
    "../../../x",
    "..",
    ".",
    "",
    "has space",
    "line\nbreak",
    "esc\x1b[31m",
    "rtl\u202eevil",
    "demo@chat",
    "a" * 300,
    "Demo",
    "-lead",
    "a..b",
    "nul\x00",
]
BAD_VERSIONS = [
    "1.0.0;rm -rf /",
    "1.0.0$(id)",
    "1.0.0`id`",
    "1.0.0|x",
    " 1.0.0",
    "1.0.0\n",
    "1" * 80,
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_name_is_refused_before_anything_is_stored(
    registry: Registry, tmp_path: Path, name: str
) -> None:
    artifact = make_artifact(tmp_path / "artifact")
    before = snapshot(registry)
    with pytest.raises(InputError, match="invalid model name") as caught:
        register(registry, model=name, path=artifact, version="1.0.0", author="a")
    assert "\n" not in str(caught.value)
    assert snapshot(registry) == before
    assert not (tmp_path.parent / "escape").exists()


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_bad_version_is_refused(registry: Registry, tmp_path: Path, version: str) -> None:
    artifact = make_artifact(tmp_path / "artifact")
    before = snapshot(registry)
    with pytest.raises(InputError, match="invalid version") as caught:
        register(registry, model="ok", path=artifact, version=version, author="a")
    assert "\n" not in str(caught.value)
    assert snapshot(registry) == before


def test_add_version_refuses_bad_names_too(registry: Registry) -> None:
    with pytest.raises(InputError, match="invalid model name"):
        registry.add_version(
            model="../x",
            version="1.0.0",
            manifest={"dir_hash": "d", "files": []},
            lineage={},
            parent_version=None,
            adapter=None,
            author=None,
            notes=None,
            risk_tier=None,
            actor="a",
        )
    assert registry.count_rows()["models"] == 0


@pytest.mark.parametrize("name", ["demo-chat", "m", "gpt2.small_v1", "0", "a" * 64])
def test_good_names_pass(name: str) -> None:
    assert validate_model_name(name) == name


def test_good_versions_pass() -> None:
    for version in ("1.0.0", "2.0.0-rc.1", "1.2.3+build.5"):
        assert validate_version(version) == version


def test_paths_derived_from_names_stay_inside(tmp_path: Path) -> None:
    assert version_path(tmp_path, "m", "1.0.0") == tmp_path / "m" / "1.0.0"
    assert version_path(tmp_path, "m", "1.0.0", ".lock") == tmp_path / "m@1.0.0.lock"
    for name in ("../../../x", "..", "a/b"):
        with pytest.raises(InputError):
            version_path(tmp_path, name, "1.0.0")


def test_cli_prints_one_line_and_stores_nothing(project: Path) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "safeship.cli"]
    subprocess.run([*command, "init"], cwd=project, check=True, capture_output=True)
    artifact = make_artifact(project / "artifact")
    result = subprocess.run(
        [*command, "register", "../../escape", str(artifact), "--version", "1.0.0"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "invalid model name" in result.stderr
    assert not (project.parent.parent / "escape").exists()
    assert not any((project / ".dvc" / "cache").rglob("*.bin"))
