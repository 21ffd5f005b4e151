"""`safeship lineage MODEL --format svg`, `safeship incident ...` and `dashboard --export`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safeship.cli import main
from safeship.config import Settings
from safeship.registry.store import Registry
from safeship.testing.dashboard import seed_state


@pytest.fixture
def seeded_project(project: Path) -> Path:
    settings = Settings.from_env()
    with Registry.open(settings) as registry:
        seed_state(registry, project / "reports")
    return project


def test_lineage_svg_is_the_dashboards_picture(
    seeded_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = seeded_project / "alpha.svg"
    assert main(["lineage", "alpha", "--format", "svg", "--output", str(out)]) == 0
    svg = out.read_text()
    assert svg.startswith("<svg") and svg.count('class="node version"') == 4
    assert 'href="../../model/alpha/1.2.0/index.html"' in svg
    assert main(["lineage", "alpha", "1.2.0", "--format", "svg"]) == 0
    assert capsys.readouterr().out.count('class="node version"') == 2


def test_incident_commands(seeded_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["incident", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {i["trigger"] for i in listed} == {"rollback", "alert"}
    rollback = next(i for i in listed if i["trigger"] == "rollback")
    with Registry.open(Settings.from_env()) as registry:
        before = registry.count_rows()
    code = main(["incident", "resolve", str(rollback["id"]), "--fixed-in", "9.9.9", "--as", "ann"])
    assert code != 0 and "no version '9.9.9'" in capsys.readouterr().err
    with Registry.open(Settings.from_env()) as registry:
        assert registry.count_rows() == before
    assert main(["incident", "note", str(rollback["id"]), "filter the scrape", "--as", "ann"]) == 0
    assert (
        main(["incident", "resolve", str(rollback["id"]), "--fixed-in", "1.3.0", "--as", "ann"])
        == 0
    )
    capsys.readouterr()
    assert main(["incident", "list", "--status", "resolved", "--json"]) == 0
    (resolved,) = json.loads(capsys.readouterr().out)
    assert (resolved["fixed_in"], [n["text"] for n in resolved["notes"]]) == (
        "1.3.0",
        ["filter the scrape"],
    )


def test_dashboard_export(seeded_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = seeded_project / "site"
    assert main(["dashboard", "--no-prefect", "--export", str(site)]) == 0
    assert "pages in" in capsys.readouterr().out
    assert (site / "index.html").is_file() and (site / "static" / "style.css").is_file()
    assert main(["dashboard", "--port", "70000"]) != 0
