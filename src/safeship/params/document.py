"""The whole ``params.yaml`` document (re-exported by :mod:`safeship.params`), validated
once at the edge: every section has defaults, an unknown key is an error that names the
allowed ones, a bad value names the key, the value and what is allowed. ``load_params``
reads the file at the project root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from safeship.config import PARAMS_FILE, find_project_root
from safeship.errors import ConfigError
from safeship.params.base import _Section
from safeship.params.pipeline import PrepareParams, TrainParams, ValidateParams
from safeship.params.release import AccessParams, ReleaseParams
from safeship.params.safety import SafetyParams
from safeship.params.serving import CanaryParams, MonitorParams, ServingParams, ShadowParams


class Params(_Section):
    """The whole of ``params.yaml``; every section has defaults, an unknown one is an error."""

    prepare: PrepareParams = Field(default_factory=PrepareParams)
    validate_: ValidateParams = Field(default_factory=ValidateParams, alias="validate")
    train: TrainParams = Field(default_factory=TrainParams)
    safety: SafetyParams = Field(default_factory=SafetyParams)
    release: ReleaseParams = Field(default_factory=ReleaseParams)
    serving: ServingParams = Field(default_factory=ServingParams)
    monitor: MonitorParams = Field(default_factory=MonitorParams)
    canary: CanaryParams = Field(default_factory=CanaryParams)
    shadow: ShadowParams = Field(default_factory=ShadowParams)
    access: AccessParams = Field(default_factory=AccessParams)


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed in the params section at ``loc`` (its parent's fields)."""
    model: type[BaseModel] = Params
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) or next(
            (f for f in model.model_fields.values() if f.alias == part), None
        )
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _describe_validation_error(path: Path, error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        allowed = _allowed_keys(tuple(first["loc"]))
        listing = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"{path}: unknown key '{key}' (value {first.get('input')!r}){listing}"
    value = first.get("input")
    return f"{path}: key '{key}' has value {value!r}: {first['msg']}"


def parse_params(data: Any, source: Path) -> Params:
    """Validate already-loaded params data; ``source`` names the file in errors."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: expected a mapping at the top level, got {type(data).__name__}"
        )
    try:
        return Params.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_describe_validation_error(source, error)) from error


def load_params(root: Path | None = None) -> Params:
    """Read and validate ``params.yaml`` at the project root (defaults when absent)."""
    import yaml

    path = (root or find_project_root()) / PARAMS_FILE
    if not path.exists():
        return Params()
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_strict_yaml_loader())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    return parse_params(data, path)


def _strict_yaml_loader() -> Any:
    """A safe YAML loader that refuses a key given twice in one mapping (plain YAML keeps
    the last one silently, so a pasted second section would quietly replace the first)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return StrictLoader
