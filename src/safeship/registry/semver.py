"""Strict Semantic Versioning 2.0.0: parsing, precedence and bump kinds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from safeship.errors import InputError

BumpKind = Literal["major", "minor", "patch", "none"]

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


@dataclass(frozen=True)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> SemVer:
        match = _SEMVER.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise InputError(
                f"invalid version {text!r}: use semantic versioning MAJOR.MINOR.PATCH "
                "with an optional -pre.release (for example 1.2.0 or 2.0.0-rc.1)"
            )
        major, minor, patch, pre, build = match.groups()
        return cls(
            int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else (), build or ""
        )

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + self.build
        return text

    def sort_key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """Precedence as in SemVer 2.0.0 §11 (build metadata ignored)."""
        pre = tuple(
            (0, int(part), "") if part.isdigit() else (1, 0, part) for part in self.prerelease
        )
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: SemVer) -> bool:
        return self.sort_key() < other.sort_key()


def bump_kind(old: SemVer, new: SemVer) -> BumpKind:
    """Which part changed going from ``old`` to ``new`` (the most significant one)."""
    if new.major != old.major:
        return "major"
    if new.minor != old.minor:
        return "minor"
    if new.patch != old.patch or new.prerelease != old.prerelease:
        return "patch"
    return "none"


def suggest_next(previous: SemVer, kind: BumpKind) -> SemVer:
    if kind == "major":
        return SemVer(previous.major + 1, 0, 0)
    if kind == "minor":
        return SemVer(previous.major, previous.minor + 1, 0)
    if kind == "patch":
        return SemVer(previous.major, previous.minor, previous.patch + 1)
    return previous
