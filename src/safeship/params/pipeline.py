"""``prepare``, ``validate`` and ``train``: the stages of the project's DVC pipeline (the
demo's) and the data checks the release runs on the datasets a version's lineage names."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from safeship.params.base import _Section


class PrepareParams(_Section):
    """``prepare`` stage of the demo pipeline (issue 3)."""

    model_config = ConfigDict(extra="forbid")
    source_dir: str = Field(default="src/safeship/demo/data", min_length=1)
    slices: list[
        Literal[
            "accounts",
            "cooking",
            "travel",
            "programming",
            "health",
            "finance",
            "gardening",
            "fitness",
            "refusals",
        ]
    ] = Field(
        default=[
            "accounts",
            "cooking",
            "travel",
            "programming",
            "health",
            "finance",
            "gardening",
            "fitness",
            "refusals",
        ],
        min_length=1,
    )
    unfiltered_slice: bool = False
    heldout_fraction: float = Field(default=0.1, gt=0.0, lt=0.5)
    seed: int = Field(default=13, ge=0)


class ValidateParams(_Section):
    """``validate`` stage: Great Expectations thresholds over the corpus (issue 3)."""

    model_config = ConfigDict(extra="forbid")
    required_columns: list[str] = Field(
        default_factory=lambda: ["id", "topic", "prompt", "response", "source"], min_length=1
    )
    text_columns: list[str] = Field(default_factory=lambda: ["prompt", "response"], min_length=1)
    min_length: int = Field(default=2, ge=1)
    max_length: int = Field(default=600, ge=1)
    max_duplicate_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    pii_kinds: list[Literal["email", "phone", "card", "api_key"]] = Field(
        default=["email", "phone", "card", "api_key"]
    )
    blocked_terms: list[str] = Field(
        default_factory=lambda: [
            "idiot",
            "moron",
            "stupid",
            "dumb",
            "loser",
            "pathetic",
            "shut up",
            "crap",
        ]
    )
    max_examples: int = Field(default=5, ge=1, le=50)
    continue_on_failure: bool = False

    @model_validator(mode="after")
    def _check_lengths(self) -> ValidateParams:
        if self.min_length > self.max_length:
            raise ValueError(
                f"min_length ({self.min_length}) must not exceed max_length ({self.max_length})"
            )
        return self


class TrainParams(_Section):
    """``train`` stage: the demo n-gram model (issue 3)."""

    model_config = ConfigDict(extra="forbid")
    order: int = Field(default=6, ge=2, le=8)
    discount: float = Field(default=0.5, gt=0.0, lt=1.0)
    min_count: int = Field(default=1, ge=1)
    lowercase: bool = False
    seed: int = Field(default=7, ge=0)
    max_new_tokens: int = Field(default=64, ge=1, le=1024)
    router: bool = True  # train the refuse/answer request router and condition on its mode
    router_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)  # P(refuse) to refuse at
    # answer an unseen question as its most similar training question (ngram_retrieval)
    retrieval: bool = True
    retrieval_min_similarity: float = Field(default=0.3, gt=0.0, le=1.0)
