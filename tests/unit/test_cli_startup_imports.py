"""``safeship --help`` and ``safeship status`` stay light: building the parser and reading
deployment state never import DVC, Great Expectations, Evidently, pandas, torch or the
drills package (each costs 0.3-4 s of start-up an operator would pay on every command)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("dvc", "great_expectations", "evidently", "pandas", "torch", "safeship.drills")

SCRIPT = """
import contextlib, io, sys
from safeship.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as done:
        code = done.code
heavy = {heavy!r}
loaded = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
print("EXIT", code)
print("LOADED", " ".join(loaded) or "-")
"""


def _loaded(argv: list[str], cwd: Path) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(heavy=HEAVY), *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    return lines["EXIT"], lines["LOADED"]


@pytest.mark.parametrize("argv", [["--help"], ["status"], ["drill", "--help"]])
def test_light_commands_import_nothing_heavy(project: Path, argv: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "safeship.cli", "init"], check=True, capture_output=True)
    code, loaded = _loaded(argv, project)
    if argv == ["drill", "--help"]:
        # asking for the drill's own help may load the scenario list, and only that
        assert code == "0"
        assert "safeship.drills.scenarios" in loaded.split()
        return
    assert code == "0", loaded
    assert loaded == "-"


def test_the_import_check_can_see_a_heavy_import(project: Path) -> None:
    """The same probe reports the drills package when a command really needs it."""
    code, loaded = _loaded(["drill", "demo-chat", "--scenario", "nope"], project)
    assert code == "2"
    assert "safeship.drills" in loaded.split()
