"""Reading a request body safely: bounded while streaming, bounded in depth, valid text.

* The body is read chunk by chunk and refused (413) the moment it passes the limit, so a
  huge chunked body never sits in memory whole.
* JSON nested deeper than :data:`MAX_DEPTH` levels is refused (400) (the standard
  library's parser hit its recursion limit at ~1,000 levels and gave a 500).
* The parser is strict: ``NaN``/``Infinity``, invalid UTF-8 and lone UTF-16 surrogates
  (``"\\ud800"``, not valid Unicode) are a 400, so nothing downstream — routing hashes, the
  request log, a JSON response that echoes a model name — meets them.
* :func:`storable` makes text safe for every database (the request log's rows).
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from safeship.gateway import errors
from safeship.gateway.errors import GatewayError

MAX_DEPTH = 64


class _Streaming(Protocol):
    def stream(self) -> Any: ...


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


def _too_deep() -> GatewayError:
    return errors.invalid(
        f"The request body is nested more than {MAX_DEPTH} levels deep; flatten it.",
        code="invalid_json",
    )


def decode(raw: bytes) -> dict[str, Any]:
    """Parse a JSON object body strictly (orjson: no NaN/Infinity, no invalid UTF-8 or lone
    surrogates — each a 400) and refuse nesting deeper than :data:`MAX_DEPTH` levels."""
    import orjson

    if not raw.strip():
        raise errors.invalid("The request body is empty: send a JSON object.", code="invalid_json")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:  # also: too deep for orjson (1024), bad UTF-8
        raise errors.invalid(
            f"The request body is not valid JSON ({error}); send a JSON object.",
            code="invalid_json",
        ) from error
    if not isinstance(data, dict):
        raise errors.invalid(
            f"The request body must be a JSON object, not {type(data).__name__}.",
            code="invalid_json",
        )
    # Only a body with more brackets than the depth limit can be too deep: the common case
    # costs two byte counts, not a walk.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth_exceeds(data, MAX_DEPTH):
        raise _too_deep()
    return data


def _depth_exceeds(value: Any, limit: int) -> bool:
    """True if containers nest more than ``limit`` levels (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
