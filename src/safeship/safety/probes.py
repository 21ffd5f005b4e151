"""Versioned probe sets: JSONL files in ``safety/probes/``.

Each file starts with a header line ``{"header": true, "set", "version", "description"}``
(plus set-wide fields such as the injection ``system_prompt``); every other line is one
probe ``{"id", "category", "prompt", "failure", ...}``. Bias probes also carry ``axis``,
``groups`` and a ``template`` containing ``{group}``. A set's hash is the sha256 of the
file's bytes; the suite's hash covers every set's name and hash.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from safeship.errors import ConfigError, NotFoundError

PROBE_DIR = Path(__file__).parent / "probes"
PROBE_CATEGORIES: tuple[str, ...] = ("toxicity", "pii", "injection", "jailbreak", "bias")
PROBE_CATEGORIES += ("indirect",)  # attack generation (issue 11): safeship.safety.attacks


class Probe(BaseModel):
    """One probe prompt and what counts as failing it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(min_length=1)
    category: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    failure: str = Field(min_length=1)

    def field(self, name: str, default: Any = None) -> Any:
        """A category-specific extra field (``axis``, ``groups``, ``template``, ...)."""
        return (self.model_extra or {}).get(name, default)


class ProbeSet(BaseModel):
    """A whole probe file: its header, its probes and the hash of its bytes."""

    name: str
    version: str
    description: str = ""
    sha256: str
    path: str
    header: dict[str, Any] = Field(default_factory=dict)
    probes: list[Probe]

    def __len__(self) -> int:
        return len(self.probes)


class ProbeSuite(BaseModel):
    """Every probe set the battery runs, with one combined version and hash."""

    sets: dict[str, ProbeSet]

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.sets):
            digest.update(f"{name}:{self.sets[name].sha256}\n".encode())
        return digest.hexdigest()

    @property
    def version(self) -> str:
        versions = sorted({probe_set.version for probe_set in self.sets.values()})
        return "+".join(versions)

    def describe(self) -> dict[str, Any]:
        """Name, version and hash of each set: what a safety profile records."""
        digest = self.sha256
        return {
            "version": self.version,
            "sha256": digest,
            "hash": digest,
            "sets": {
                name: {"version": s.version, "sha256": s.sha256, "probes": len(s.probes)}
                for name, s in sorted(self.sets.items())
            },
        }


def _fail(path: Path, line: int, message: str) -> ConfigError:
    return ConfigError(f"{path}:{line}: {message} (fix or remove that line of the probe file)")


def _check_bias(path: Path, line: int, probe: Probe) -> None:
    groups = probe.field("groups")
    template = probe.field("template", probe.prompt)
    if not isinstance(probe.field("axis"), str) or not probe.field("axis"):
        raise _fail(path, line, "bias probe needs a non-empty 'axis'")
    if (
        not isinstance(groups, list)
        or len(groups) < 2
        or not all(isinstance(g, str) and g for g in groups)
    ):
        raise _fail(path, line, "bias probe needs 'groups': a list of at least two names")
    if not isinstance(template, str) or "{group}" not in template:
        raise _fail(path, line, "bias probe 'template' must contain '{group}'")


def load_probe_set(path: Path) -> ProbeSet:
    """Read and validate one probe file; a malformed line raises ``ConfigError``."""
    if not path.is_file():
        raise NotFoundError(f"probe file {path} does not exist")
    raw = path.read_bytes()
    header: dict[str, Any] | None = None
    probes: list[Probe] = []
    seen: set[str] = set()
    for number, text in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise _fail(path, number, f"not valid JSON: {error.msg}") from error
        if not isinstance(data, dict):
            raise _fail(path, number, "expected a JSON object")
        if data.get("header") is True:
            if header is not None or probes:
                raise _fail(path, number, "the header must be the first line, and only once")
            if not isinstance(data.get("version"), str) or not data["version"]:
                raise _fail(path, number, "header needs a non-empty 'version'")
            header = data
            continue
        if header is None:
            raise _fail(path, number, "the first line must be the header with a 'version'")
        try:
            probe = Probe.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            key = ".".join(str(part) for part in first["loc"]) or "<line>"
            raise _fail(path, number, f"field '{key}': {first['msg']}") from error
        if probe.id in seen:
            raise _fail(path, number, f"duplicate probe id {probe.id!r}")
        expected = header.get("set", path.stem)
        if probe.category != expected:
            raise _fail(path, number, f"category {probe.category!r} but the set is {expected!r}")
        if probe.category == "bias":
            _check_bias(path, number, probe)
        marker = probe.field("marker", [])
        if not isinstance(marker, list) or not all(isinstance(m, str) and m for m in marker):
            raise _fail(path, number, "'marker' must be a list of non-empty strings")
        seen.add(probe.id)
        probes.append(probe)
    if header is None:
        raise ConfigError(f"{path}: empty probe file (needs a header line and probes)")
    if not probes:
        raise ConfigError(f"{path}: the probe set has a header but no probes")
    return ProbeSet(
        name=str(header.get("set", path.stem)),
        version=str(header["version"]),
        description=str(header.get("description", "")),
        sha256=hashlib.sha256(raw).hexdigest(),
        path=str(path),
        header={k: v for k, v in header.items() if k != "header"},
        probes=probes,
    )


def load_probes(
    directory: Path | None = None, categories: tuple[str, ...] = PROBE_CATEGORIES
) -> ProbeSuite:
    """Load the named probe sets (``<category>.jsonl``) from ``directory``."""
    folder = directory or PROBE_DIR
    return ProbeSuite(sets={name: load_probe_set(folder / f"{name}.jsonl") for name in categories})
