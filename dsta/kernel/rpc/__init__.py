"""Service registry with the adapter swap: ``resolve(Api)`` is local or a generated HTTP client.

A domain declares its api in ``domains/<d>/api.py``::

    @rpc.service("core.config")
    class ConfigApi(Protocol):
        def get_value(self, *, key: str) -> ConfigValue: ...

registers its implementation in ``AppConfig.ready``: ``rpc.register(ConfigApi, ConfigService())``,
and callers write ``rpc.resolve(ConfigApi).get_value(key="...")``. See docs/rpc.md.
"""

from dsta.kernel.rpc.caller import calling_domain
from dsta.kernel.rpc.contract import MethodSpec, ServiceSpec
from dsta.kernel.rpc.errors import (
    BadArguments,
    BadServiceToken,
    RemoteUnavailable,
    RpcError,
    ServiceNotRegistered,
    UnknownMethod,
)
from dsta.kernel.rpc.registry import (
    clear_client_cache,
    load_extra_modules,
    register,
    resolve,
    service,
    spec_of,
)

__all__ = [
    "BadArguments",
    "BadServiceToken",
    "MethodSpec",
    "RemoteUnavailable",
    "RpcError",
    "ServiceNotRegistered",
    "ServiceSpec",
    "UnknownMethod",
    "calling_domain",
    "clear_client_cache",
    "load_extra_modules",
    "register",
    "resolve",
    "service",
    "spec_of",
]
