"""load_generator / read_adapter_config: every way a config.json can be wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from safeship.errors import AdapterError, ConfigError
from safeship.models import loader
from safeship.models.base import Generation, GenerationRequest
from safeship.models.loader import KNOWN_ADAPTERS, load_generator, read_adapter_config


def _write(folder: Path, content: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(content)
    return folder


def test_known_adapters() -> None:
    assert set(KNOWN_ADAPTERS) == {"ngram", "transformers", "openai"}


def test_missing_config_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_generator(tmp_path)
    assert str(tmp_path / "config.json") in str(info.value)
    assert "adapter" in str(info.value)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a folder"):
        load_generator(tmp_path / "nope")


def test_malformed_json_names_file_and_error(tmp_path: Path) -> None:
    _write(tmp_path, '{"adapter": "ngram",')
    with pytest.raises(ConfigError) as info:
        load_generator(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "config.json") in message
    assert "invalid JSON" in message and "line 1" in message


def test_not_an_object(tmp_path: Path) -> None:
    _write(tmp_path, '["ngram"]')
    with pytest.raises(ConfigError, match="JSON object"):
        read_adapter_config(tmp_path)


@pytest.mark.parametrize(
    "config", [{}, {"model": "x"}, {"adapter": "tensorflow"}, {"adapter": 3}, {"adapter": None}]
)
def test_no_or_unknown_adapter_lists_the_known_ones(
    tmp_path: Path, config: dict[str, object]
) -> None:
    _write(tmp_path, json.dumps(config))
    with pytest.raises(ConfigError) as info:
        load_generator(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "config.json") in message
    for name in ("ngram", "transformers", "openai"):
        assert name in message


def test_read_adapter_config_splits_name_and_options(tmp_path: Path) -> None:
    _write(tmp_path, json.dumps({"adapter": "openai", "model": "m", "base_url": "http://x/v1"}))
    assert read_adapter_config(tmp_path) == {
        "adapter": "openai",
        "options": {"model": "m", "base_url": "http://x/v1"},
    }


def test_adapters_are_imported_lazily() -> None:
    """Importing the loader (and safeship) must not pull in the heavy libraries."""
    code = (
        "import sys, safeship.models.loader; "
        "bad = [m for m in ('torch', 'transformers', 'httpx') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


class _FakeGenerator:
    name = "fake"

    @classmethod
    def load(cls, path: Path) -> _FakeGenerator:
        return cls()

    def generate(self, prompts: list[str], request: GenerationRequest) -> list[Generation]:
        return [Generation(p, p, 1, 1, 0.0) for p in prompts]

    def close(self) -> None:
        pass


def test_dispatches_to_the_adapter_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KNOWN_ADAPTERS, "ngram", (__name__, "_FakeGenerator"))
    _write(tmp_path, json.dumps({"adapter": "ngram"}))
    generator = load_generator(tmp_path)
    assert isinstance(generator, _FakeGenerator)


def test_unimportable_adapter_is_an_adapter_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(KNOWN_ADAPTERS, "ngram", ("safeship.models.no_such_module", "X"))
    _write(tmp_path, json.dumps({"adapter": "ngram"}))
    with pytest.raises(AdapterError, match="cannot be imported"):
        load_generator(tmp_path)
    assert loader.CONFIG_FILE == "config.json"


# -- adapter-specific config errors (no model, no network needed) ------------------------


def test_transformers_folder_without_weights_names_the_folder(tmp_path: Path) -> None:
    _write(tmp_path, json.dumps({"adapter": "transformers", "model_type": "gpt2"}))
    with pytest.raises(ConfigError) as info:
        load_generator(tmp_path)
    assert str(tmp_path.resolve()) in str(info.value)
    assert "no model weights" in str(info.value)


def test_transformers_missing_model_dir(tmp_path: Path) -> None:
    _write(tmp_path, json.dumps({"adapter": "transformers", "model_dir": "hf"}))
    with pytest.raises(ConfigError, match="model_dir does not exist"):
        load_generator(tmp_path)


def test_transformers_bad_batch_size(tmp_path: Path) -> None:
    _write(tmp_path, json.dumps({"adapter": "transformers", "batch_size": 0}))
    with pytest.raises(ConfigError, match="'batch_size' must be an integer >= 1, got 0"):
        load_generator(tmp_path)


def test_openai_missing_api_key_env_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAFESHIP_TEST_NO_SUCH_KEY", raising=False)
    _write(
        tmp_path,
        json.dumps(
            {
                "adapter": "openai",
                "base_url": "http://127.0.0.1:9/v1",
                "model": "m",
                "api_key_env": "SAFESHIP_TEST_NO_SUCH_KEY",
            }
        ),
    )
    with pytest.raises(ConfigError, match="SAFESHIP_TEST_NO_SUCH_KEY"):
        load_generator(tmp_path)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"mode": "edits"}, "'mode'"),
        ({"concurrency": 0}, "'concurrency'"),
        ({"timeout_s": -1}, "'timeout_s'"),
        ({"base_url": "127.0.0.1:8000"}, "'base_url'"),
        ({"temprature": 1}, "'temprature'"),
        ({"api_key": "sk-secret"}, "api_key_env"),
    ],
)
def test_openai_bad_options_name_the_key(
    tmp_path: Path, extra: dict[str, object], fragment: str
) -> None:
    config = {"adapter": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", **extra}
    _write(tmp_path, json.dumps(config))
    with pytest.raises(ConfigError) as info:
        load_generator(tmp_path)
    assert fragment in str(info.value)
    assert "sk-secret" not in str(info.value)


def test_openai_missing_model(tmp_path: Path) -> None:
    _write(tmp_path, json.dumps({"adapter": "openai", "base_url": "http://127.0.0.1:9/v1"}))
    with pytest.raises(ConfigError, match="'model'"):
        load_generator(tmp_path)


def test_openai_folder_carries_version_metadata(tmp_path: Path) -> None:
    config = {
        "adapter": "openai",
        "base_url": "http://127.0.0.1:9/v1",
        "model": "m",
        "card": {"intended_use": "support answers"},
        "data": {"train": []},
    }
    _write(tmp_path, json.dumps(config))
    assert load_generator(tmp_path) is not None
