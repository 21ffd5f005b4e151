"""Prefect tasks: one side effect each, calling the core in ``safeship``."""
