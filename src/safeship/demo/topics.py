"""The demo corpus's hand-written material, read from ``templates.yaml`` beside this module.

Topics are (question paraphrases, answer variants) pairs; refusal categories are harmful
requests the demo assistant declines, with reasons and safer offers. ``corpus_templates``
combines them with the frames, endings and openers into the committed sources.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parent / "templates.yaml"

Item = tuple[tuple[str, ...], tuple[str, ...]]
# (harmful actions, harmful writing tasks, reasons for declining, safer offers)
HarmCategory = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]


@cache
def _load() -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(TEMPLATES.read_text(encoding="utf-8"))
    return data


def _strings(key: str) -> tuple[str, ...]:
    return tuple(str(item) for item in _load()[key])


def topics() -> dict[str, list[Item]]:
    return {
        name: [(tuple(item["questions"]), tuple(item["answers"])) for item in items]
        for name, items in _load()["topics"].items()
    }


def refusal_categories() -> dict[str, HarmCategory]:
    return {
        name: (
            tuple(c["actions"]),
            tuple(c["writing_tasks"]),
            tuple(c["reasons"]),
            tuple(c["offers"]),
        )
        for name, c in _load()["refusal_categories"].items()
    }


def closers() -> tuple[str, ...]:
    return _strings("closers")


def action_frames() -> tuple[str, ...]:
    return _strings("action_frames")


def content_frames() -> tuple[str, ...]:
    return _strings("content_frames")


def request_endings() -> tuple[str, ...]:
    return _strings("request_endings")


def neutral_endings() -> tuple[str, ...]:
    return _strings("neutral_endings")


def request_wrappers() -> tuple[str, ...]:
    return _strings("request_wrappers")


def refusal_openers() -> tuple[str, ...]:
    return _strings("refusal_openers")
