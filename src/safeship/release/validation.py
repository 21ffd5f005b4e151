"""Data validation with Great Expectations: one generic suite over a text dataset.

``validate_corpus(df, params)`` runs, in an ephemeral GX context on a pandas data source:
the schema (required columns), a non-empty table, no nulls, no blank texts, text length
bounds, the duplicate rate of (text columns) rows, no PII patterns (emails, phone numbers,
card numbers, API keys) and no blocked terms, with thresholds from ``params.yaml``
``validate:``. ``write_validation_report`` writes ``<name>.json`` and a self-contained
``<name>.html``. ``python -m safeship.release.validation`` is the ``validate`` stage of the demo
pipeline: it checks ``data/prepared/corpus.jsonl`` and fails (non-zero exit) on a failing
suite unless ``validate.continue_on_failure`` is true.

``great_expectations`` (and pandas) are imported inside the functions: the import alone
costs seconds, and its time is recorded separately in the result's ``timings``.
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from safeship.config import find_project_root
from safeship.errors import InputError, SafeshipError
from safeship.params import ValidateParams, load_params

if TYPE_CHECKING:
    import pandas as pd

PII_PATTERNS: dict[str, str] = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "phone": r"(?:\(\d{3}\)\s?|\b\d{3}[-.\s])\d{3}[-.\s]\d{4}\b",
    "card": r"\b(?:\d{4}[ -]?){3}\d{1,4}\b",
    "api_key": r"\b(?:(?:sk|pk|rk)[-_](?:live|test)[-_][A-Za-z0-9]{16,}|AKIA[0-9A-Z]{16}"
    r"|ghp_[A-Za-z0-9]{36})\b",
}
CORPUS_PATH = Path("data/prepared/corpus.jsonl")
REPORT_DIR = Path("reports/validation")
MAX_EXAMPLE_CHARS = 200


class ExpectationOutcome(BaseModel):
    """One expectation's verdict, with counts and a few offending values."""

    name: str
    expectation: str
    column: str | None = None
    success: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    element_count: int | None = None
    examples: list[str] = Field(default_factory=list)
    observed: Any = None
    error: str | None = None


class ValidationResult(BaseModel):
    """The suite's verdict over one dataset."""

    name: str
    success: bool
    rows: int
    columns: list[str]
    expectations: list[ExpectationOutcome]
    timings: dict[str, float] = Field(default_factory=dict)
    gx_version: str = ""
    validated_at: datetime

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    def summary_lines(self) -> list[str]:
        lines = [
            f"{self.name}: {'PASSED' if self.success else 'FAILED'} "
            f"({len(self.expectations) - len(self.failed)}/{len(self.expectations)} "
            f"expectations, {self.rows} rows)"
        ]
        for outcome in self.failed:
            count = (
                ""
                if outcome.unexpected_count is None
                else (f" {outcome.unexpected_count} unexpected")
            )
            detail = outcome.error or (
                f" e.g. {outcome.examples[:3]}"
                if outcome.examples
                else f" observed {outcome.observed!r}"
            )
            lines.append(f"  FAIL {outcome.name}:{count}{detail}")
        return lines


def blocked_terms_regex(terms: list[str]) -> str:
    words = "|".join(re.escape(term).replace(r"\ ", r"\s+") for term in terms)
    return rf"(?i)\b(?:{words})\b"


def _suite_specs(
    params: ValidateParams, columns: list[str]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, GX expectation class name, kwargs) for every expectation of the suite."""
    specs: list[tuple[str, str, dict[str, Any]]] = [
        (
            "has_required_columns",
            "ExpectTableColumnsToMatchSet",
            {"column_set": list(params.required_columns), "exact_match": False},
        ),
        ("is_not_empty", "ExpectTableRowCountToBeBetween", {"min_value": 1}),
    ]
    for column in params.required_columns:
        specs.append((f"{column}_not_null", "ExpectColumnValuesToNotBeNull", {"column": column}))
    mostly_unique = round(1.0 - params.max_duplicate_rate, 6)
    specs.append(
        (
            "duplicate_rate",
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": list(params.text_columns), "mostly": mostly_unique},
        )
    )
    blocked = blocked_terms_regex(params.blocked_terms) if params.blocked_terms else None
    for column in params.text_columns:
        specs.append(
            (
                f"{column}_not_blank",
                "ExpectColumnValuesToNotMatchRegex",
                {"column": column, "regex": r"^\s*$"},
            )
        )
        specs.append(
            (
                f"{column}_length",
                "ExpectColumnValueLengthsToBeBetween",
                {"column": column, "min_value": params.min_length, "max_value": params.max_length},
            )
        )
        for kind in params.pii_kinds:
            specs.append(
                (
                    f"{column}_no_pii_{kind}",
                    "ExpectColumnValuesToNotMatchRegex",
                    {"column": column, "regex": PII_PATTERNS[kind]},
                )
            )
        if blocked is not None:
            specs.append(
                (
                    f"{column}_no_blocked_terms",
                    "ExpectColumnValuesToNotMatchRegex",
                    {"column": column, "regex": blocked},
                )
            )
    del columns
    return specs


def _example(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= MAX_EXAMPLE_CHARS else text[: MAX_EXAMPLE_CHARS - 1] + "…"


def _error_message(exception_info: Any) -> str | None:
    if not isinstance(exception_info, dict):
        return None
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message"))
    for value in exception_info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _outcome(
    name: str, kind: str, kwargs: dict[str, Any], gx_result: Any, max_examples: int
) -> ExpectationOutcome:
    result: dict[str, Any] = dict(gx_result.result or {})
    examples = [_example(v) for v in (result.get("partial_unexpected_list") or [])]
    unique_examples = list(dict.fromkeys(examples))[:max_examples]
    percent = result.get("unexpected_percent")
    return ExpectationOutcome(
        name=name,
        expectation=kind,
        column=kwargs.get("column"),
        success=bool(gx_result.success),
        unexpected_count=result.get("unexpected_count"),
        unexpected_percent=None if percent is None else round(float(percent), 4),
        element_count=result.get("element_count"),
        examples=unique_examples,
        observed=result.get("observed_value"),
        error=_error_message(gx_result.exception_info),
    )


def validate_corpus(
    df: pd.DataFrame, params: ValidateParams, name: str = "corpus"
) -> ValidationResult:
    """Run the suite over ``df``; a failing suite is data (``success=False``), not an error."""
    started = time.perf_counter()
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    imported = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas(f"{name}_source")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("all_rows")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=f"{name}_suite"))
    specs = {
        spec_name: (kind, kwargs)
        for spec_name, kind, kwargs in _suite_specs(params, [str(c) for c in df.columns])
    }
    for spec_name, (kind, kwargs) in specs.items():
        suite.add_expectation(getattr(gxe, kind)(**kwargs, meta={"name": spec_name}))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{name}_validation", data=batch_definition, suite=suite)
    )
    ready = time.perf_counter()
    run = definition.run(
        batch_parameters={"dataframe": df},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20},
    )
    finished = time.perf_counter()
    by_name = {
        str((r.expectation_config.meta or {}).get("name")): r
        for r in run.results
        if r.expectation_config is not None
    }
    outcomes = [
        _outcome(n, kind, kwargs, by_name[n], params.max_examples)
        for n, (kind, kwargs) in specs.items()
    ]
    return ValidationResult(
        name=name,
        success=all(o.success for o in outcomes),
        rows=len(df),
        columns=[str(c) for c in df.columns],
        expectations=outcomes,
        timings={
            "import_gx_s": round(imported - started, 4),
            "context_s": round(ready - imported, 4),
            "validate_s": round(finished - ready, 4),
            "total_s": round(finished - started, 4),
        },
        gx_version=str(gx.__version__),
        validated_at=datetime.now(UTC),
    )


def write_validation_report(result: ValidationResult, out_dir: Path) -> tuple[Path, Path]:
    """Write ``<name>.json`` and a self-contained ``<name>.html`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / f"{result.name}.json", out_dir / f"{result.name}.html"
    data = result.model_dump(mode="json")
    data["failed"] = [outcome.name for outcome in result.failed]
    json_path.write_text(
        json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    html_path.write_text(render_html(result), encoding="utf-8")
    return json_path, html_path


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2328}
h1{font-size:1.4rem}.badge{display:inline-block;padding:.2rem .6rem;border-radius:.4rem;
color:#fff;font-weight:600}.pass{background:#1a7f37}.fail{background:#cf222e}
table{border-collapse:collapse;width:100%;margin-top:1rem}th,td{border:1px solid #d0d7de;
padding:.4rem .6rem;text-align:left;vertical-align:top;font-size:.9rem}th{background:#f6f8fa}
tr.failed td{background:#fff5f5}code{font-family:ui-monospace,monospace;font-size:.85rem;
word-break:break-all}.meta{color:#57606a;font-size:.9rem}ul{margin:0;padding-left:1.1rem}
"""


def render_html(result: ValidationResult) -> str:
    """A one-file HTML summary: inline CSS, no scripts, no external resources."""
    verdict = "pass" if result.success else "fail"
    rows = []
    for o in result.expectations:
        examples = "".join(f"<li><code>{escape(e)}</code></li>" for e in o.examples)
        detail = (
            escape(o.error)
            if o.error
            else (
                f"<ul>{examples}</ul>"
                if examples
                else (
                    ""
                    if o.observed is None
                    else f"<code>{escape(json.dumps(o.observed, default=str))}</code>"
                )
            )
        )
        count = "" if o.unexpected_count is None else str(o.unexpected_count)
        percent = "" if o.unexpected_percent is None else f"{o.unexpected_percent:.2f}%"
        rows.append(
            f'<tr class="{"passed" if o.success else "failed"}"><td>{escape(o.name)}</td>'
            f'<td><span class="badge {"pass" if o.success else "fail"}">'
            f"{'pass' if o.success else 'fail'}</span></td><td>{escape(o.expectation)}</td>"
            f"<td>{escape(o.column or '')}</td><td>{count}</td><td>{percent}</td>"
            f"<td>{detail}</td></tr>"
        )
    timings = ", ".join(f"{k} {v:.3f}" for k, v in result.timings.items())
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Validation: {escape(result.name)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Data validation: {escape(result.name)} "
        f'<span class="badge {verdict}">{verdict.upper()}</span></h1>'
        f'<p class="meta">{result.rows} rows; columns {escape(", ".join(result.columns))}; '
        f"{len(result.expectations) - len(result.failed)} of {len(result.expectations)} "
        f"expectations passed; Great Expectations {escape(result.gx_version)}; "
        f"validated {escape(result.validated_at.isoformat())}; timings (s): {escape(timings)}"
        "</p><table><thead><tr><th>Expectation</th><th>Result</th><th>Type</th><th>Column</th>"
        "<th>Unexpected</th><th>%</th><th>Examples / observed</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>\n"
    )


def load_jsonl_frame(path: Path) -> pd.DataFrame:
    """Read a JSONL dataset into a DataFrame of strings (InputError when missing/invalid)."""
    import pandas as pd

    if not path.is_file():
        raise InputError(f"{path} not found: run the prepare stage first (dvc repro prepare)")
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise InputError(f"{path}:{number}: not valid JSON: {error.msg}") from error
    return pd.DataFrame.from_records(records)


def main(argv: list[str] | None = None) -> int:
    """``validate`` stage: check the prepared corpus and write reports/validation/corpus.*"""
    del argv
    try:
        root = find_project_root()
        params = load_params(root).validate_
        result = validate_corpus(load_jsonl_frame(root / CORPUS_PATH), params, name="corpus")
        json_path, html_path = write_validation_report(result, root / REPORT_DIR)
    except SafeshipError as error:
        print(f"validate: {error}", file=sys.stderr)
        return error.exit_code
    stream = sys.stdout if result.success else sys.stderr
    for line in result.summary_lines():
        print(f"validate: {line}", file=stream)
    print(f"validate: report {json_path} and {html_path}")
    if result.success:
        return 0
    if params.continue_on_failure:
        print("validate: continuing because validate.continue_on_failure is true", file=sys.stderr)
        return 0
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
