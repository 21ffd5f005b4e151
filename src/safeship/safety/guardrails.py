"""Guardrails checked as a Great Expectations suite over the outputs table.

Two expectations on the ``text`` column: length at most ``max_output_chars`` and no
blocked keyword (the same whole-word, case-insensitive regex ``score_outputs`` uses).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from safeship.errors import ExternalToolError
from safeship.safety.scorers import blocked_keyword_pattern

if TYPE_CHECKING:
    from safeship.params import SafetyParams


@dataclass
class GuardrailReport:
    """What the GX suite found: per-row violation flags and per-expectation counts."""

    n: int
    violations: list[bool]
    success: bool
    expectations: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def violation_count(self) -> int:
        return sum(self.violations)


def check_guardrails(texts: Sequence[str], guardrails: SafetyParams.Guardrails) -> GuardrailReport:
    """Validate ``texts`` against the guardrail suite in an ephemeral GX context."""
    if not texts:
        return GuardrailReport(n=0, violations=[], success=True)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    try:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas(name="safeship_outputs").add_dataframe_asset(
            name="outputs"
        )
        batch_definition = asset.add_batch_definition_whole_dataframe("all_outputs")
        suite = gx.ExpectationSuite(name="safeship_guardrails")
        expectations: Any = gx.expectations
        suite.add_expectation(
            expectations.ExpectColumnValueLengthsToBeBetween(
                column="text", min_value=0, max_value=guardrails.max_output_chars
            )
        )
        pattern = blocked_keyword_pattern(guardrails.blocked_keywords)
        if pattern is not None:
            suite.add_expectation(
                expectations.ExpectColumnValuesToNotMatchRegexList(
                    column="text", regex_list=[pattern]
                )
            )
        suite = context.suites.add(suite)
        frame = pd.DataFrame({"text": [str(text) for text in texts]})
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite, result_format="COMPLETE")
    except Exception as error:  # GX raises many unrelated types; report them as one
        raise ExternalToolError(f"Great Expectations guardrail check failed: {error}") from error
    flags = [False] * len(texts)
    details: dict[str, dict[str, Any]] = {}
    for item in result.results:
        config = item.expectation_config
        name = str(config.type) if config is not None else "unknown"
        unexpected = [int(i) for i in item.result.get("unexpected_index_list") or []]
        for index in unexpected:
            flags[index] = True
        details[name] = {
            "success": bool(item.success),
            "unexpected_count": int(item.result.get("unexpected_count") or 0),
            "element_count": int(item.result.get("element_count") or len(texts)),
        }
    return GuardrailReport(
        n=len(texts), violations=flags, success=bool(result.success), expectations=details
    )
