"""The tiny trained n-gram: a real demo model trained on two slices of the demo corpus (~0.1 s)."""

from __future__ import annotations

from pathlib import Path

from safeship.demo import prepare as prep
from safeship.demo import train as tr
from safeship.params import TrainParams, parse_params

DEMO_DATA = Path(prep.__file__).resolve().parent / "data"
DEFAULT_SLICES = ("cooking", "travel")


def prepare_slices(dest: Path, slices: tuple[str, ...] = DEFAULT_SLICES) -> Path:
    """Write the demo corpus of ``slices`` to ``dest`` (once) and return ``dest``."""
    if not (dest / "corpus.jsonl").exists():
        params = parse_params(
            {"prepare": {"source_dir": str(DEMO_DATA), "slices": list(slices)}},
            Path("params.yaml"),
        ).prepare
        prep.prepare(params, DEMO_DATA, dest)
    return dest


def train_ngram(dest: Path, order: int, data: Path | None = None, *, router: bool = True) -> Path:
    """Train an n-gram model of ``order`` into ``dest`` (data defaults to ``dest/../prepared``)."""
    data = prepare_slices(data or dest.parent / "prepared")
    tr.train(
        TrainParams(order=order, router=router),
        dest.parent,
        data_dir=data,
        model_dir=dest,
        metrics_path=dest.parent / f"{dest.name}.metrics.json",
    )
    return dest
