"""Plain records the registry returns (pydantic, so they serialise for ``--json``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ModelRecord(BaseModel):
    name: str
    risk_tier: str
    owner: str | None
    created_at: str


class VersionRecord(BaseModel):
    model: str
    version: str
    status: str
    dir_hash: str
    manifest: dict[str, Any]
    lineage: dict[str, Any]
    parent_version: str | None
    adapter: str | None
    author: str | None
    notes: str | None
    created_at: str

    def file_hashes(self) -> dict[str, str]:
        return {f["path"]: f["md5"] for f in self.manifest.get("files", [])}


class DeploymentState(BaseModel):
    model: str
    production: str | None = None
    canary: str | None = None
    canary_weight: int = 0
    shadow: str | None = None
    updated_at: str | None = None


class HistoryPoint(BaseModel):
    model: str
    at: str
    as_of_seq: int | None
    production: str | None
    canary: str | None
    canary_weight: int
    shadow: str | None
