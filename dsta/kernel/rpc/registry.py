"""The service registry: declare an api, register its implementation, resolve it.

``resolve(Api)`` hands out the in-process implementation, or a generated HTTP client when
``settings.DSTA_REMOTE_SERVICES`` names a URL for the api's domain. Callers cannot tell which.
"""

import importlib
import inspect
import os
import threading
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, cast

from django.conf import settings

from dsta.kernel.rpc.client import RemoteTransport, build_client
from dsta.kernel.rpc.contract import MethodSpec, ServiceSpec
from dsta.kernel.rpc.errors import ServiceNotRegistered, UnknownMethod

T = TypeVar("T")
C = TypeVar("C", bound=type)

# Comma-separated modules the internal endpoint imports before serving its first call, so a
# process can serve services that no installed app registers (the test-only services of the
# rpc tests, started in a child process). Operators never need it: domains register in ready().
EXTRA_MODULES_ENV = "DSTA_RPC_EXTRA_MODULES"

_specs_by_api: dict[type, ServiceSpec] = {}
_specs_by_name: dict[str, ServiceSpec] = {}
_implementations: dict[str, object] = {}
_clients: dict[tuple[str, str], object] = {}
_transports: dict[str, RemoteTransport] = {}
_clients_lock = threading.Lock()


def service(name: str) -> Callable[[C], C]:
    """Class decorator declaring an api Protocol as the service ``"<domain>.<service>"``.

    Checks the Protocol's shape now (keyword-only, annotated methods) and returns it unchanged.
    """

    def declare(api: C) -> C:
        spec = ServiceSpec(name, api)
        existing = _specs_by_name.get(name)
        if existing is not None and _qualified(existing.api) != _qualified(api):
            raise ValueError(f"service {name!r} is already declared by {_qualified(existing.api)}")
        if existing is not None:
            _specs_by_api.pop(existing.api, None)  # the same class, imported again
        _specs_by_api[api] = spec
        _specs_by_name[name] = spec
        return api

    return declare


def spec_of(api: Callable[..., Any]) -> ServiceSpec:
    """The declaration of ``api``; TypeError when it was not decorated with ``@service``."""
    spec = _specs_by_api.get(cast(type, api))
    if spec is None:
        raise TypeError(f"{api!r} is not an rpc service: decorate it with @rpc.service(...)")
    return spec


def register(api: type, implementation: object) -> None:
    """Make ``implementation`` the in-process implementation of ``api`` (call in ready()).

    Registering again replaces the previous implementation. The implementation must have every
    method of the Protocol, each accepting the Protocol's keyword arguments.
    """
    spec = spec_of(api)
    spec.prepare()
    for method in spec.methods.values():
        _check_implements(spec, method, implementation)
    _implementations[spec.name] = implementation


def resolve(api: Callable[..., T]) -> T:
    """The implementation of ``api`` for this process: local, or the remote HTTP client."""
    spec = spec_of(api)
    base_url = settings.DSTA_REMOTE_SERVICES.get(spec.domain)
    if base_url:
        client = _clients.get((spec.name, base_url))
        return cast(T, client if client is not None else _new_client(spec, base_url))
    implementation = _implementations.get(spec.name)
    if implementation is None:
        raise ServiceNotRegistered(
            f"no implementation of {spec.name} is registered in this process and no remote "
            f"URL is configured for the {spec.domain!r} domain"
        )
    return cast(T, implementation)


def clear_client_cache() -> None:
    """Forget (and close) the cached remote clients, e.g. after changing the remote URLs."""
    with _clients_lock:
        transports = list(_transports.values())
        _clients.clear()
        _transports.clear()
    for transport in transports:
        transport.close()


def local_method(service_name: str, method_name: str) -> tuple[MethodSpec, Callable[..., Any]]:
    """The declared method and its bound local implementation, for the internal endpoint.

    Only methods declared on the Protocol are found: never another attribute of the
    implementation, never a private name.
    """
    spec = _specs_by_name.get(service_name)
    implementation = _implementations.get(service_name)
    if spec is None or implementation is None:
        raise UnknownMethod(f"this process serves no service {service_name!r}")
    method = spec.methods.get(method_name)
    if method is None:
        raise UnknownMethod(f"{service_name} has no method {method_name!r}")
    return method, getattr(implementation, method.name)


@cache
def load_extra_modules() -> tuple[str, ...]:
    """Import the modules named by ``DSTA_RPC_EXTRA_MODULES`` (once) and return their names."""
    names = tuple(
        name.strip() for name in os.environ.get(EXTRA_MODULES_ENV, "").split(",") if name.strip()
    )
    for name in names:
        importlib.import_module(name)
    return names


def _new_client(spec: ServiceSpec, base_url: str) -> object:
    with _clients_lock:
        client = _clients.get((spec.name, base_url))
        if client is None:
            transport = _transports.get(base_url)
            if transport is None:
                transport = _transports[base_url] = RemoteTransport(base_url)
            client = _clients[(spec.name, base_url)] = build_client(spec, transport)
        return client


def _check_implements(spec: ServiceSpec, method: MethodSpec, implementation: object) -> None:
    where = f"{type(implementation).__qualname__}.{method.name}"
    bound = getattr(implementation, method.name, None)
    if not callable(bound):
        raise TypeError(f"{where} is missing: it is declared on {spec.name}")
    accepted = inspect.signature(bound).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    missing = [name for name in method.signature.parameters if name not in accepted]
    if missing and not takes_any:
        raise TypeError(f"{where} does not accept {missing} declared on {spec.name}")


def _qualified(api: type) -> str:
    return f"{api.__module__}.{api.__qualname__}"


def _forget_clients_after_fork() -> None:
    # A forked child must not share the parent's pooled sockets (or a lock another thread of
    # the parent held at the fork); it builds its own clients.
    global _clients_lock
    _clients_lock = threading.Lock()
    _clients.clear()
    _transports.clear()


os.register_at_fork(after_in_child=_forget_clients_after_fork)
