"""Model names and version strings that are safe to turn into paths, URLs and pins.

A model name is 1-64 characters from ``a-z 0-9 . _ -``, starting with a letter or digit,
never containing ``..`` (pattern: ``^[a-z0-9][a-z0-9._-]{0,63}$``). So a name has no
``/``, no ``@`` (the gateway's pin separator: ``model@version``), no whitespace, control
or bidirectional characters, and cannot be ``.`` or ``..``. A version is a strict
semantic version of at most 64 characters, written exactly (no surrounding spaces).

Every path derived from a name goes through :func:`version_path`, which validates both
parts and checks the result stays inside its base directory.
"""

from __future__ import annotations

import re
from pathlib import Path

from safeship.errors import InputError
from safeship.registry.semver import SemVer

MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
MAX_VERSION_LENGTH = 64
_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)


def _shown(text: str) -> str:
    """The value for an error message: escaped, and cut short if it is long."""
    shown = ascii(text)
    return shown if len(shown) <= 80 else shown[:60] + f"...' ({len(text)} characters)"


def validate_model_name(name: object) -> str:
    """Return ``name`` if it is a valid model name; otherwise raise :class:`InputError`."""
    if not isinstance(name, str) or _MODEL_NAME.fullmatch(name) is None or ".." in name:
        shown = _shown(name) if isinstance(name, str) else repr(name)
        raise InputError(
            f"invalid model name {shown}: use 1-64 characters from a-z, 0-9, '.', '_' and '-', "
            "starting with a letter or digit, without '..' (for example demo-chat)"
        )
    return name


def validate_version(version: object) -> str:
    """Return ``version`` if it is a strict semantic version written exactly; else refuse."""
    if not isinstance(version, str) or len(version) > MAX_VERSION_LENGTH:
        shown = _shown(version) if isinstance(version, str) else repr(version)
        raise InputError(
            f"invalid version {shown}: use semantic versioning MAJOR.MINOR.PATCH of at most "
            f"{MAX_VERSION_LENGTH} characters (for example 1.2.0)"
        )
    if str(SemVer.parse(version)) != version:
        raise InputError(
            f"invalid version {_shown(version)}: write it exactly, without spaces "
            f"(for example {SemVer.parse(version)})"
        )
    return version


def contained(base: Path, *parts: str) -> Path:
    """``base / parts...``, refused if the result would not lie inside ``base``."""
    target = base.joinpath(*parts)
    resolved_base = base.resolve()
    resolved = target.resolve()
    if resolved == resolved_base or not resolved.is_relative_to(resolved_base):
        raise InputError(f"refused path {target}: it is not inside {base}")
    return target


def version_path(base: Path, model: str, version: str, suffix: str = "") -> Path:
    """The directory (or file, with ``suffix``) of one version under ``base``, validated."""
    validate_model_name(model)
    validate_version(version)
    if suffix:
        return contained(base, f"{model}@{version}{suffix}")
    return contained(base, model, version)
