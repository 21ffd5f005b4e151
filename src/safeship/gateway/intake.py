"""Reading a request body safely: bounded while streaming, bounded in depth, valid text.

* The body is read chunk by chunk and refused (413) the moment it passes the limit, so a
  huge chunked body never sits in memory whole.
* JSON nested deeper than :data:`MAX_DEPTH` levels is refused (400), whether the parser
  or the walk below notices first (the parser's own recursion limit used to give a 500).
* Lone UTF-16 surrogates (``"\\ud800"`` escapes are valid JSON but not valid Unicode) are
  replaced with U+FFFD in every string, so nothing downstream — routing hashes, the
  request log, the JSON response that echoes a model name — fails on them.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from safeship.gateway import errors
from safeship.gateway.errors import GatewayError

MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Streaming(Protocol):
    def stream(self) -> Any: ...


def clean_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (valid, encodable Unicode)."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """A string every database stores: NUL (refused by PostgreSQL) and lone surrogates
    (not encodable as UTF-8) become U+FFFD. Other values pass through."""
    if isinstance(value, str) and _UNSTORABLE.search(value):
        return _UNSTORABLE.sub("\ufffd", value)
    return value


async def read_limited(request: _Streaming, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise GatewayError(
                f"The request body exceeds the limit of {limit} bytes; send a smaller request.",
                status=413,
                code="request_too_large",
            )
        chunks.append(chunk)
    return b"".join(chunks)


class _NonFinite(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(name)


def _too_deep() -> GatewayError:
    return errors.invalid(
        f"The request body is nested more than {MAX_DEPTH} levels deep; flatten it.",
        code="invalid_json",
    )


def decode(raw: bytes) -> dict[str, Any]:
    """Parse a JSON object body; depth-limited, with every string made valid Unicode."""
    if not raw.strip():
        raise errors.invalid("The request body is empty: send a JSON object.", code="invalid_json")
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as error:
        raise _too_deep() from error
    except _NonFinite as error:
        raise errors.invalid(
            f"The request body holds {error}, which is not a JSON number; send finite numbers.",
            code="invalid_json",
        ) from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise errors.invalid(
            f"The request body is not valid JSON ({clean_text(str(error))}); send a JSON object.",
            code="invalid_json",
        ) from error
    if not isinstance(data, dict):
        raise errors.invalid(
            f"The request body must be a JSON object, not {type(data).__name__}.",
            code="invalid_json",
        )
    cleaned = _clean(data)
    assert isinstance(cleaned, dict)
    return cleaned


def _clean(value: Any, depth: int = 1) -> Any:
    """A copy with clean strings (keys too); refuses nesting deeper than MAX_DEPTH."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        raise _too_deep()
    if isinstance(value, dict):
        return {clean_text(k): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    return value
