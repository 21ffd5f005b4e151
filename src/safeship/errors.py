"""One error hierarchy. Messages say what was wrong and what to do."""

from __future__ import annotations


class SafeshipError(Exception):
    """Base class of every error safeship raises on purpose.

    The CLI prints ``str(error)`` on one line and exits with ``exit_code``.
    """

    exit_code = 1


class ConfigError(SafeshipError):
    """A configuration value (params.yaml, environment, config.json) is invalid."""

    exit_code = 2


class InputError(SafeshipError):
    """A command argument is invalid (bad path, bad semver, out-of-range value)."""

    exit_code = 2


class NotFoundError(SafeshipError):
    """A model, version, run or file that was named does not exist."""

    exit_code = 3


class ConflictError(SafeshipError):
    """The operation conflicts with existing state (duplicate version, illegal move)."""

    exit_code = 4


class DuplicateVersionError(ConflictError):
    """The model already has this version."""


class InvalidTransitionError(ConflictError):
    """A status move that the lifecycle does not allow."""


class DatabaseUnavailableError(SafeshipError):
    """The registry database cannot be reached."""

    exit_code = 5


class IntegrityFailure(SafeshipError):
    """Stored content no longer matches what the catalog recorded."""

    exit_code = 6


class LedgerTampered(IntegrityFailure):
    """The audit ledger's hash chain is broken."""


class AdapterError(SafeshipError):
    """A generator adapter failed to load or to generate."""

    exit_code = 7


class ExternalToolError(SafeshipError):
    """DVC, git or another tool safeship drives failed."""

    exit_code = 8


class RegistryBusyError(SafeshipError):
    """Another writer held the registry's lock too long; nothing changed, retry later."""

    exit_code = 9
    retryable = True


class SignatureInvalid(InputError):
    """A signature is missing, malformed, by an unknown or revoked key, or over other data."""


class AccessDenied(SafeshipError):
    """The verified actor does not hold the role the operation needs (params.yaml access)."""

    exit_code = 10
