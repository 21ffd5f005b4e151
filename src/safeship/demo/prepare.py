"""``prepare`` stage: build ``data/prepared/corpus.jsonl`` and ``heldout.jsonl``.

Reads one JSONL source per slice named in ``params.yaml`` (``prepare.slices``) from
``prepare.source_dir``, plus ``unfiltered_scrape.jsonl`` when ``prepare.unfiltered_slice``
is true, gives every record a stable id and splits off a held-out set with ``prepare.seed``.
Same sources and params give byte-identical outputs.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeship.config import find_project_root
from safeship.errors import ConfigError, InputError, SafeshipError
from safeship.params import PrepareParams, load_params

OUT_DIR = Path("data/prepared")
CORPUS_FILE = "corpus.jsonl"
HELDOUT_FILE = "heldout.jsonl"
UNFILTERED_SLICE = "unfiltered_scrape"
FIELDS = ("id", "topic", "prompt", "response", "source")


@dataclass(frozen=True)
class PrepareResult:
    corpus_path: Path
    heldout_path: Path
    corpus_records: int
    heldout_records: int
    per_source: dict[str, int]


def read_source(path: Path, source: str) -> list[dict[str, str]]:
    """Read one JSONL source; each line needs non-empty string ``prompt`` and ``response``."""
    if not path.is_file():
        raise InputError(f"source file for slice '{source}' not found: {path}")
    records: list[dict[str, str]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw: Any = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"{path}:{number}: not valid JSON: {error.msg}") from error
            if not isinstance(raw, dict):
                raise InputError(f"{path}:{number}: expected a JSON object per line")
            prompt, response = raw.get("prompt"), raw.get("response")
            if not isinstance(prompt, str) or not isinstance(response, str):
                raise InputError(f"{path}:{number}: 'prompt' and 'response' must be strings")
            topic = raw.get("topic", source)
            records.append(
                {
                    "id": f"{source}-{len(records):05d}",
                    "topic": str(topic),
                    "prompt": prompt,
                    "response": response,
                    "source": source,
                }
            )
    if not records:
        raise InputError(f"source file for slice '{source}' is empty: {path}")
    return records


def _resolve_source_dir(params: PrepareParams, root: Path) -> Path:
    source_dir = Path(params.source_dir)
    if not source_dir.is_absolute():
        source_dir = root / source_dir
    if not source_dir.is_dir():
        raise ConfigError(
            f"key 'prepare.source_dir' has value {params.source_dir!r}: "
            f"folder {source_dir} does not exist"
        )
    return source_dir


def build_records(
    params: PrepareParams, root: Path
) -> tuple[list[dict[str, str]], list[dict[str, str]], dict[str, int]]:
    """Read the sources and split them into (corpus, heldout, count per source)."""
    if len(set(params.slices)) != len(params.slices):
        raise ConfigError(
            f"key 'prepare.slices' has value {params.slices!r}: a slice is named twice"
        )
    source_dir = _resolve_source_dir(params, root)
    sources = list(params.slices) + ([UNFILTERED_SLICE] if params.unfiltered_slice else [])
    records: list[dict[str, str]] = []
    per_source: dict[str, int] = {}
    for source in sources:
        chunk = read_source(source_dir / f"{source}.jsonl", source)
        per_source[source] = len(chunk)
        records.extend(chunk)
    rng = random.Random(params.seed)
    order = list(range(len(records)))
    rng.shuffle(order)
    n_heldout = max(1, round(len(records) * params.heldout_fraction))
    heldout_ids = set(order[:n_heldout])
    corpus = [records[i] for i in order if i not in heldout_ids]
    heldout = [records[i] for i in sorted(heldout_ids)]
    corpus.sort(key=lambda record: record["id"])
    return corpus, heldout, per_source


def write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            ordered = {key: record[key] for key in FIELDS}
            handle.write(json.dumps(ordered, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a prepared JSONL file (the output of this stage)."""
    if not path.is_file():
        raise InputError(f"{path} not found: run the prepare stage first (dvc repro prepare)")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def prepare(params: PrepareParams, root: Path, out_dir: Path | None = None) -> PrepareResult:
    """Run the stage: write ``corpus.jsonl`` and ``heldout.jsonl`` under ``out_dir``."""
    out = out_dir if out_dir is not None else root / OUT_DIR
    corpus, heldout, per_source = build_records(params, root)
    write_jsonl(out / CORPUS_FILE, corpus)
    write_jsonl(out / HELDOUT_FILE, heldout)
    return PrepareResult(
        out / CORPUS_FILE, out / HELDOUT_FILE, len(corpus), len(heldout), per_source
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m safeship.demo.prepare`` (run from the project root)."""
    del argv
    try:
        root = find_project_root()
        result = prepare(load_params(root).prepare, root)
    except SafeshipError as error:
        print(f"prepare: {error}", file=sys.stderr)
        return error.exit_code
    sources = ", ".join(f"{name}={count}" for name, count in result.per_source.items())
    print(
        f"prepare: {result.corpus_records} corpus + {result.heldout_records} held-out "
        f"records ({sources}) -> {result.corpus_path.parent}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
