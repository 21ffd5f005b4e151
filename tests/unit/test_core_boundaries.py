"""The core never imports Prefect: every ``safeship.*`` module loads in a fresh interpreter
without pulling ``prefect`` into ``sys.modules``."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import safeship

SCRIPT = """
import importlib, sys
names = sys.argv[1:]
for name in names:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
print("LEAKED" if leaked else "CLEAN", len(names))
"""


def core_modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages(safeship.__path__, prefix="safeship.")
        if ".migrations" not in info.name and not info.name.endswith("__main__")
    )


def test_every_core_module_loads_without_prefect() -> None:
    names = core_modules()
    assert len(names) > 50, names
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, *names], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["CLEAN", str(len(names))], out


def test_no_core_source_names_prefect_imports() -> None:
    offenders = []
    for info in pkgutil.walk_packages(safeship.__path__, prefix="safeship."):
        spec = info.module_finder.find_spec(info.name, None)  # type: ignore[call-arg]
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        with open(spec.origin, encoding="utf-8") as handle:
            for line in handle:
                stripped = line.strip()
                if stripped.startswith(("import prefect", "from prefect")):
                    offenders.append(f"{info.name}: {stripped}")
    assert offenders == []
