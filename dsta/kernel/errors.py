"""The one error hierarchy and the one handler that renders it.

Every error a caller can act on has a stable ``code``. Endpoints render
``{"error": {"code", "message", "details"}}`` with the class's HTTP status; the remote RPC
binding carries the code across the wire and re-raises the same class on the caller's side.
"""

from typing import Any, ClassVar

_BY_CODE: dict[str, type["DstaError"]] = {}


class DstaError(Exception):
    """Base of every error DSTA raises on purpose."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400

    def __init__(self, message: str = "", *, details: Any = None) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code.replace("_", " ")
        self.details = details

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Register by code so a remote caller can re-raise the same class.
        if "code" in cls.__dict__:
            _BY_CODE[cls.code] = cls

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def error_class_for(code: str) -> type[DstaError]:
    """The registered error class for ``code``, or the base class for unknown codes."""
    return _BY_CODE.get(code, DstaError)


class InvalidInput(DstaError):
    code = "invalid_input"
    status = 400


class Unauthenticated(DstaError):
    code = "unauthenticated"
    status = 401


class Forbidden(DstaError):
    code = "forbidden"
    status = 403


class NotFound(DstaError):
    code = "not_found"
    status = 404


class Conflict(DstaError):
    code = "conflict"
    status = 409


class PayloadTooLarge(DstaError):
    code = "payload_too_large"
    status = 413


class RateLimited(DstaError):
    code = "rate_limited"
    status = 429


class ServiceUnavailable(DstaError):
    code = "service_unavailable"
    status = 503


_BY_CODE["error"] = DstaError
