"""OpenAI request bodies as pydantic models: the JSON is parsed and type-checked in one
pass (``model_validate_json``, in Rust), and every failure becomes one OpenAI-style 400
naming the field (``param``) — ``messages[0].content`` rather than pydantic's location.

Unknown fields are accepted and ignored, as OpenAI-compatible servers do. Limits that
depend on ``params.yaml`` (prompt size, token limit) are checked by :mod:`.protocol`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
from pydantic import ValidationError as PydanticValidationError

from safeship.gateway import errors
from safeship.gateway.errors import GatewayError

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
_CONFIG = ConfigDict(extra="ignore", frozen=True, strict=False)


class TextPart(BaseModel):
    model_config = _CONFIG
    type: Literal["text"]
    text: StrictStr


class Message(BaseModel):
    model_config = _CONFIG
    role: Role
    content: StrictStr | list[TextPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(BaseModel):
    model_config = _CONFIG
    include_usage: StrictBool = False


class RequestBody(BaseModel):
    model_config = _CONFIG
    model: StrictStr
    max_tokens: StrictInt | None = None
    temperature: StrictInt | StrictFloat | None = None
    n: Literal[1] | None = None
    seed: StrictInt | None = None
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    user: StrictStr | None = None


class CompletionBody(RequestBody):
    prompt: StrictStr | Annotated[list[StrictStr], Field(min_length=1, max_length=16)]


class ChatBody(RequestBody):
    messages: Annotated[list[Message], Field(min_length=1)]
    max_completion_tokens: StrictInt | None = None


_MISSING = "missing_required_parameter"
_MESSAGES = {
    "temperature": "'temperature' must be a number from 0 to 2",
    "n": "'n' must be 1 (the gateway returns one choice)",
    "prompt": "'prompt' must be a string or a list of 1 to 16 strings (token arrays are not "
    "supported)",
    "stream_options": "'stream_options' must be an object",
}


def _param(loc: tuple[int | str, ...]) -> str | None:
    """``("messages", 0, "content", "list[TextPart]", 0, "type")`` → ``messages[0].content``."""
    if not loc:
        return None
    param = str(loc[0])
    if param == "messages" and len(loc) > 1:
        param += f"[{loc[1]}]"
        if len(loc) > 2 and isinstance(loc[2], str):
            param += f".{loc[2]}"
    return param


def to_gateway_error(exc: PydanticValidationError) -> GatewayError:
    """The first problem of a failed validation, as an OpenAI-style 400."""
    err = exc.errors(include_url=False)[0]
    kind, loc = err["type"], tuple(err["loc"])
    if kind == "json_invalid" or not loc:
        message = (
            f"The request body is not valid JSON ({err['msg']}); send a JSON object."
            if kind == "json_invalid"
            else "The request body must be a JSON object."
        )
        return errors.invalid(message, code="invalid_json")
    param = _param(loc)
    if kind == "missing" and len(loc) == 1:
        return errors.invalid(f"'{param}' is required.", param=param, code=_MISSING)
    got = f", got {err['input']!r}" if kind != "missing" else ""
    detail = _MESSAGES.get(str(param), f"'{param}': {err['msg']}")
    code = "invalid_type" if kind.endswith("_type") or kind == "union_tag_invalid" else None
    return errors.invalid(f"{detail}{got}."[:500], param=param, code=code or "invalid_value")


def validate(model: type[RequestBody], body: bytes | dict[str, Any]) -> Any:
    """``model`` from raw JSON bytes (one pass) or an already decoded dict."""
    try:
        if isinstance(body, bytes | bytearray):
            if not body.strip():
                raise errors.invalid(
                    "The request body is empty: send a JSON object.", code="invalid_json"
                )
            return model.model_validate_json(body)
        return model.model_validate(body)
    except PydanticValidationError as exc:
        raise to_gateway_error(exc) from exc
