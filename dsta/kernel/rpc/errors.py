"""Errors of the service registry and its wire protocol.

Their codes start with ``rpc_`` (or are ``remote_unavailable``) so a caller can always tell a
failure of the transport from an error the domain itself raised and the wire carried across.
"""

from dsta.kernel.errors import DstaError, ServiceUnavailable


class RpcError(DstaError):
    """Base of the registry's own errors; raised as such when a remote broke the protocol."""

    code = "rpc_error"
    status = 502


class UnknownMethod(RpcError):
    """The service or method is not declared on a registered api Protocol of this process."""

    code = "rpc_unknown_method"
    status = 404


class BadArguments(RpcError):
    """The keyword arguments do not match the method's signature; details are pydantic's."""

    code = "rpc_bad_arguments"
    status = 400


class BadServiceToken(RpcError):
    """The internal endpoint was called without the right service token."""

    code = "rpc_bad_service_token"
    status = 401


class ServiceNotRegistered(RpcError):
    """``resolve`` found neither a local implementation nor a remote URL for the service."""

    code = "rpc_service_not_registered"
    status = 503


class RemoteUnavailable(RpcError, ServiceUnavailable):
    """The remote did not answer in time, refused the connection, or does not serve RPC."""

    code = "remote_unavailable"
    status = 503
