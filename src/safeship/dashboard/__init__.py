"""The status dashboard: server-rendered pages over the registry, ledger, request log and reports."""
