"""Whose objects a request acts on: the caller's own, or (admins only) another user's."""

from rest_framework.request import Request

from dsta.kernel.errors import InvalidInput, NotFound, Unauthenticated
from dsta.kernel.permissions import principal_of

OWNER_PARAMETER = "user_id"


def acting_owner_id(request: Request, requested: object = None) -> int:
    """The user id the request acts for: the caller, or the ``user_id`` given (query string,
    or ``requested`` from a body) when the caller is an admin. A non-admin naming another
    user gets 404, as if that user's objects did not exist."""
    principal = principal_of(request)
    if principal is None:
        raise Unauthenticated("authentication required")
    if requested is None:
        requested = request.query_params.get(OWNER_PARAMETER)
    if requested is None or requested == "":
        return principal.user_id
    if isinstance(requested, bool):
        raise InvalidInput(f"{OWNER_PARAMETER} must be an integer user id")
    try:
        owner_id = int(str(requested))
    except ValueError as exc:
        raise InvalidInput(f"{OWNER_PARAMETER} must be an integer user id") from exc
    if owner_id != principal.user_id and not principal.is_admin:
        raise NotFound("not found")
    return owner_id
