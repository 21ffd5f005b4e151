"""The release, as plain steps the Prefect flow sequences (no Prefect here).

Each step is idempotent: run again after a crash it reuses what the first run recorded
(the registered version, its validation, profile and gate) instead of writing twice.
"""
