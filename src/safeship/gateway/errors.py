"""OpenAI-style errors: ``{"error": {"message", "type", "param", "code"}}`` with a status."""

from __future__ import annotations

from typing import Any

from safeship.errors import SafeshipError

INVALID_REQUEST = "invalid_request_error"
NOT_FOUND = "not_found_error"
PERMISSION = "permission_error"
SERVER = "server_error"
UPSTREAM = "upstream_error"
TIMEOUT = "timeout_error"
UNAVAILABLE = "service_unavailable_error"


class GatewayError(SafeshipError):
    """A request the gateway refuses or cannot serve; carries its HTTP status and body."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = INVALID_REQUEST,  # noqa: A002 - the OpenAI field name
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param
        self.code = code

    @property
    def kind(self) -> str:
        """A short label for metrics and logs (the code, else the type)."""
        return self.code or self.type

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.type, self.param, self.code)


def error_body(
    message: str,
    type: str,
    param: str | None = None,
    code: str | None = None,  # noqa: A002
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def invalid(message: str, *, param: str | None = None, code: str = "invalid_value") -> GatewayError:
    return GatewayError(message, status=400, param=param, code=code)


def model_not_found(model: str, known: list[str]) -> GatewayError:
    listing = ", ".join(known) if known else "none is deployed"
    return GatewayError(
        f"The model {model!r} does not exist or has no production version; served models: "
        f"{listing}. GET /v1/models lists them.",
        status=404,
        type=INVALID_REQUEST,
        param="model",
        code="model_not_found",
    )


def version_not_found(model: str, version: str, known: list[str]) -> GatewayError:
    listing = ", ".join(known) if known else "none"
    return GatewayError(
        f"Model {model!r} has no version {version!r}; its versions: {listing}.",
        status=404,
        type=INVALID_REQUEST,
        param="model",
        code="version_not_found",
    )


def version_not_deployable(
    model: str, version: str, status: str, allowed: list[str]
) -> GatewayError:
    return GatewayError(
        f"{model} {version} is {status}: it cannot be served. A pinned version must be one of "
        f"{', '.join(allowed)}; omit the pin to get the production version.",
        status=403,
        type=PERMISSION,
        param="model",
        code="version_not_deployable",
    )


def upstream_failed(model: str, version: str, detail: str) -> GatewayError:
    return GatewayError(
        f"{model} {version} failed to generate: {detail}",
        status=502,
        type=UPSTREAM,
        code="adapter_error",
    )


def timed_out(model: str, version: str, timeout_s: float) -> GatewayError:
    return GatewayError(
        f"{model} {version} did not answer within {timeout_s:g} s (serving.timeout_s); "
        "retry, or ask for fewer tokens",
        status=504,
        type=TIMEOUT,
        code="timeout",
    )


def unavailable(message: str, code: str = "unavailable") -> GatewayError:
    return GatewayError(message, status=503, type=UNAVAILABLE, code=code)
