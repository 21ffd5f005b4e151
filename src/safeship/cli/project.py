"""``safeship init`` and ``safeship db upgrade``."""

from __future__ import annotations

import argparse
from typing import Any

from safeship.cli.common import add_json_flag
from safeship.cli.output import print_json


def _init(args: argparse.Namespace) -> int:
    from safeship.config import Settings
    from safeship.project import init_project

    result = init_project(Settings.from_env())
    data = {
        "project_root": str(result.project_root),
        "state_dir": str(result.state_dir),
        "dvc_initialised": result.dvc_initialised,
        "dvc_remote": {"name": result.remote_name, "url": result.remote_url},
    }
    if args.json:
        print_json(data)
    else:
        print(f"safeship project at {result.project_root}")
        print(f"  state:      {result.state_dir}")
        dvc_note = "initialised" if result.dvc_initialised else "already set up"
        print(f"  DVC:        {dvc_note}; remote {result.remote_name!r} -> {result.remote_url}")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from safeship.config import Settings
    from safeship.registry import db

    settings = Settings.from_env()
    engine = db.make_engine(settings.db_url)
    db.check_connection(engine)
    before = db.current_revision(engine)
    after = db.upgrade(engine)
    engine.dispose()
    print(f"registry database at revision {after} (was {before or 'empty'})")
    return 0


def add_commands(subparsers: Any) -> None:
    init = subparsers.add_parser("init", help="set up .safeship/, DVC and a default remote")
    add_json_flag(init)
    init.set_defaults(handler=_init)

    database = subparsers.add_parser("db", help="registry database maintenance")
    db_sub = database.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply pending schema migrations")
    upgrade.set_defaults(handler=_db_upgrade)
