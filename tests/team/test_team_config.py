"""Team-mode configuration: ports, the load balancer's configuration, refused set-ups."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeship.config import Settings
from safeship.errors import ConfigError, InputError
from safeship.gateway.balancer import check_config, haproxy_config, write_config
from safeship.stack import Stack, env_port, parse_args, up
from safeship.team import TeamStack


def test_ports_come_from_flags_then_environment_then_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SAFESHIP_PREFECT_PORT", raising=False)
    monkeypatch.setenv("SAFESHIP_GATEWAY_PORT", "8811")
    args = parse_args(["up"])
    assert (args.prefect_port, args.gateway_port) == (4200, 8811)
    args = parse_args(["up", "--gateway-port", "9000", "--prefect-port", "4300"])
    assert (args.prefect_port, args.gateway_port) == (4300, 9000)


def test_a_bad_port_is_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAFESHIP_PREFECT_PORT", "42x")
    with pytest.raises(InputError, match="SAFESHIP_PREFECT_PORT='42x' is not a port"):
        env_port("SAFESHIP_PREFECT_PORT", 4200)
    assert up(["up"]) == 2
    assert "is not a port" in capsys.readouterr().err


def test_the_stack_passes_its_urls_to_its_processes(tmp_path: Path) -> None:
    settings = Settings(tmp_path, tmp_path / ".safeship", "sqlite:///x.db")
    stack = Stack(settings, prefect_port=4311, gateway_port=8711, host="0.0.0.0")
    assert stack.env["PREFECT_API_URL"] == "http://127.0.0.1:4311/api"
    assert stack.env["SAFESHIP_GATEWAY_URL"] == "http://127.0.0.1:8711"
    assert stack.env["PREFECT_SERVER_API_HOST"] == "0.0.0.0"


def test_team_mode_refuses_sqlite_and_a_non_postgres_prefect(tmp_path: Path) -> None:
    sqlite = Settings(tmp_path, tmp_path / ".safeship", f"sqlite:///{tmp_path / 'r.db'}")
    with pytest.raises(ConfigError, match="SAFESHIP_DB_URL=postgresql://"):
        TeamStack(sqlite, prefect_db_url="postgresql+asyncpg://x/y").check_databases()
    pg = Settings(tmp_path, tmp_path / ".safeship", "postgresql://postgres@127.0.0.1/x")
    with pytest.raises(ConfigError, match="PREFECT_API_DATABASE_CONNECTION_URL"):
        TeamStack(pg, prefect_db_url="sqlite+aiosqlite:///p.db").check_databases()


def test_haproxy_configuration_balances_checks_and_retries(tmp_path: Path) -> None:
    text = haproxy_config("127.0.0.1", 8711, [("127.0.0.1", 9001), ("10.0.0.2", 9002)])
    assert "bind 127.0.0.1:8711" in text
    assert "server replica1 127.0.0.1:9001 check" in text
    assert "server replica2 10.0.0.2:9002 check" in text
    assert "option httpchk GET /healthz" in text and "retry-on conn-failure" in text
    with pytest.raises(ConfigError, match="at least one gateway replica"):
        haproxy_config("127.0.0.1", 8711, [])


def test_haproxy_accepts_the_configuration(tmp_path: Path, haproxy: str) -> None:
    config = write_config(
        tmp_path / "haproxy.cfg", haproxy_config("127.0.0.1", 8711, [("127.0.0.1", 9001)])
    )
    check_config(config)  # haproxy -c: raises ConfigError with haproxy's message
    config.write_text("frontend broken\n    bind nowhere:what\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="haproxy refused"):
        check_config(config)
