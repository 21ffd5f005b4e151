"""Load a model version's generator from its folder.

A version folder holds a ``config.json`` whose ``adapter`` key picks the runtime:

* ``ngram`` — the demo word-level n-gram model (:mod:`safeship.models.ngram`);
* ``transformers`` — a local Hugging Face causal LM
  (:mod:`safeship.models.transformers_adapter`);
* ``openai`` — a remote OpenAI-compatible HTTP endpoint
  (:mod:`safeship.models.openai_adapter`).

Every other key in ``config.json`` is an option of that adapter, except the version's
metadata that any adapter's folder may carry (``VERSION_METADATA_KEYS``): ``card`` (intended
use and limitations for the model card) and ``data`` (the training and held-out splits,
``{"train": [...], "heldout": [...]}``; ``"train": []`` declares none). Adapters are imported
only when chosen, so ``import safeship`` never pays for torch, transformers or httpx.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from safeship.errors import AdapterError, ConfigError
from safeship.models.base import Generator

CONFIG_FILE = "config.json"

#: adapter name -> (module, class). The class has a ``load(path) -> Generator`` classmethod.
KNOWN_ADAPTERS: dict[str, tuple[str, str]] = {
    "ngram": ("safeship.models.ngram", "NgramGenerator"),
    "transformers": ("safeship.models.transformers_adapter", "TransformersGenerator"),
    "openai": ("safeship.models.openai_adapter", "OpenAIGenerator"),
}

#: keys of config.json that describe the version, not the adapter (never adapter options).
VERSION_METADATA_KEYS: frozenset[str] = frozenset({"adapter", "card", "data"})

#: what to install when an adapter's module cannot be imported.
_INSTALL_HINTS: dict[str, str] = {
    "transformers": "install the 'hf' extra: pip install 'safeship[hf]'",
    "openai": "install httpx: pip install httpx",
}


def _known() -> str:
    return ", ".join(sorted(KNOWN_ADAPTERS))


def read_config_json(path: Path) -> dict[str, Any]:
    """Read ``path/config.json`` (or ``path`` itself if it is a file) as a JSON object."""
    file = path if path.is_file() else path / CONFIG_FILE
    if not file.is_file():
        raise ConfigError(
            f"{file}: no such file; a model folder needs a {CONFIG_FILE} with an 'adapter' key "
            f"(one of: {_known()})"
        )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file}: invalid JSON ({exc}); fix the file and retry") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot be read ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"{file}: must hold a JSON object, found {type(data).__name__}; "
            f'expected e.g. {{"adapter": "ngram"}}'
        )
    return data


def read_adapter_config(path: Path) -> dict[str, Any]:
    """Return ``{"adapter": name, "options": {...}}`` from a model folder's ``config.json``.

    ``options`` is every other key of the file (for a ``transformers`` folder that keeps
    the Hugging Face config in the same file, this includes the architecture keys).
    Raises :class:`ConfigError` when the file is missing, malformed, or names no known
    adapter. Used by lineage to record a version's runtime.
    """
    data = read_config_json(path)
    file = path if path.is_file() else path / CONFIG_FILE
    adapter = data.get("adapter")
    if adapter is None:
        raise ConfigError(
            f'{file}: no \'adapter\' key; add one of: {_known()} (e.g. "adapter": "ngram")'
        )
    if not isinstance(adapter, str) or adapter not in KNOWN_ADAPTERS:
        raise ConfigError(f"{file}: unknown adapter {adapter!r}; known adapters: {_known()}")
    options = {key: value for key, value in data.items() if key != "adapter"}
    return {"adapter": adapter, "options": options}


def load_generator(path: Path) -> Generator:
    """Load the generator for the model folder ``path``, chosen by its ``config.json``."""
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"{path}: not a folder; point at a model folder holding {CONFIG_FILE}")
    adapter = read_adapter_config(path)["adapter"]
    module_name, class_name = KNOWN_ADAPTERS[adapter]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = _INSTALL_HINTS.get(adapter, "check the installation of safeship")
        raise AdapterError(
            f"adapter {adapter!r} (for {path}) cannot be imported: {exc}; {hint}"
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise AdapterError(f"adapter {adapter!r}: {module_name} has no {class_name}")
    generator = cls.load(path)
    if not isinstance(generator, Generator):
        raise AdapterError(
            f"adapter {adapter!r}: {class_name}.load returned {type(generator).__name__}, "
            "which does not implement the Generator protocol"
        )
    return generator
