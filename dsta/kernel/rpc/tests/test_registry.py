"""Declaring, registering and resolving services, in-process (no HTTP)."""

import time
from decimal import Decimal
from typing import Any, Protocol

import pytest

from dsta.kernel import rpc
from dsta.kernel.errors import ServiceUnavailable, error_class_for
from dsta.kernel.rpc.client import RemoteClient
from dsta.kernel.rpc.testing import RpcBinder
from dsta.kernel.rpc.tests.sample_api import FillsApi
from dsta.kernel.rpc.tests.sample_service import FillsService


@rpc.service("rpcregistry.prices")
class PricesApi(Protocol):
    def last_price(self, *, symbol: str) -> Decimal: ...

    def _helper(self) -> None: ...


class Prices:
    def last_price(self, *, symbol: str) -> Decimal:
        return Decimal("1.5")


def test_resolve_returns_the_registered_implementation() -> None:
    implementation = Prices()
    rpc.register(PricesApi, implementation)

    assert rpc.resolve(PricesApi) is implementation


def test_only_public_methods_are_part_of_the_contract() -> None:
    assert list(rpc.spec_of(PricesApi).methods) == ["last_price"]


def test_an_unregistered_service_without_a_remote_url_is_an_error(settings: Any) -> None:
    @rpc.service("rpcregistry.unregistered")
    class UnregisteredApi(Protocol):
        def ping(self) -> None: ...

    settings.DSTA_REMOTE_SERVICES = {}

    with pytest.raises(rpc.ServiceNotRegistered) as raised:
        rpc.resolve(UnregisteredApi)
    assert raised.value.code == "rpc_service_not_registered"


def test_resolving_an_undeclared_class_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not an rpc service"):
        rpc.resolve(Prices)


def test_a_remote_url_gives_a_cached_generated_client(settings: Any) -> None:
    settings.DSTA_REMOTE_SERVICES = {"rpcsample": "http://127.0.0.1:9"}
    rpc.clear_client_cache()

    client = rpc.resolve(FillsApi)

    assert isinstance(client, RemoteClient)
    assert rpc.resolve(FillsApi) is client
    assert callable(client.echo_fill)
    assert not hasattr(client, "not_in_the_protocol")
    rpc.clear_client_cache()
    assert rpc.resolve(FillsApi) is not client
    settings.DSTA_REMOTE_SERVICES = {}
    assert isinstance(rpc.resolve(FillsApi), FillsService)
    rpc.clear_client_cache()


def test_resolve_is_cheap(settings: Any) -> None:
    settings.DSTA_REMOTE_SERVICES = {"rpcsample": "http://127.0.0.1:9"}
    rpc.clear_client_cache()
    started = time.perf_counter()
    for _ in range(20_000):
        rpc.resolve(FillsApi)
    # A few dict lookups each: well under 50 microseconds even on a loaded CI machine.
    assert time.perf_counter() - started < 1.0
    rpc.clear_client_cache()


def test_the_generated_client_checks_arguments_like_a_python_call(settings: Any) -> None:
    # Port 9 (discard) is never reached: these fail before anything is sent.
    settings.DSTA_REMOTE_SERVICES = {"rpcsample": "http://127.0.0.1:9"}
    rpc.clear_client_cache()
    client = rpc.resolve(FillsApi)

    with pytest.raises(TypeError, match="keyword arguments only"):
        client.sides(None)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        client.quote(symbol="BTC/USDT")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        client.sides(venue="binance")  # type: ignore[call-arg]
    rpc.clear_client_cache()


def test_the_errors_have_stable_codes_and_statuses() -> None:
    expected = {
        rpc.RpcError: ("rpc_error", 502),
        rpc.UnknownMethod: ("rpc_unknown_method", 404),
        rpc.BadArguments: ("rpc_bad_arguments", 400),
        rpc.BadServiceToken: ("rpc_bad_service_token", 401),
        rpc.ServiceNotRegistered: ("rpc_service_not_registered", 503),
        rpc.RemoteUnavailable: ("remote_unavailable", 503),
    }
    for error_class, (code, status) in expected.items():
        assert (error_class.code, error_class.status) == (code, status)
        assert error_class_for(code) is error_class
    assert issubclass(rpc.RemoteUnavailable, ServiceUnavailable)


class _NotAProtocol:
    def ping(self) -> None: ...


class _Positional(Protocol):
    def ping(self, symbol: str) -> None: ...


class _Unannotated(Protocol):
    def ping(self, *, symbol) -> None: ...


class _NoReturnType(Protocol):
    def ping(self, *, symbol: str): ...


class _VarKeyword(Protocol):
    def ping(self, **kwargs: str) -> None: ...


class _Attribute(Protocol):
    venue: str


class _Static(Protocol):
    @staticmethod
    def ping() -> None: ...


@pytest.mark.parametrize(
    ("api", "message"),
    [
        (_NotAProtocol, "must be a typing.Protocol"),
        (_Positional, "must be keyword-only"),
        (_Unannotated, "needs a type annotation"),
        (_NoReturnType, "return type must be annotated"),
        (_VarKeyword, "must be keyword-only"),
        (_Attribute, "declares methods, not attributes"),
        (_Static, "only plain methods"),
    ],
)
def test_a_protocol_that_cannot_be_a_wire_contract_is_refused(api: type, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        rpc.service("rpcregistry.bad")(api)


@pytest.mark.parametrize("name", ["config", "Core.config", "core.config.extra", "core-x.config"])
def test_service_names_are_domain_dot_service(name: str) -> None:
    with pytest.raises(ValueError, match=r"<domain>\.<service>"):
        rpc.service(name)(PricesApi)


def test_a_name_cannot_be_taken_by_another_class() -> None:
    class Other(Protocol):
        def ping(self) -> None: ...

    with pytest.raises(ValueError, match="already declared"):
        rpc.service("rpcregistry.prices")(Other)


def test_a_type_that_cannot_cross_the_wire_fails_at_registration() -> None:
    class Handle:
        pass

    @rpc.service("rpcregistry.handles")
    class HandlesApi(Protocol):
        def open(self, *, path: str) -> Handle: ...

    class Handles:
        def open(self, *, path: str) -> Handle:
            return Handle()

    with pytest.raises(TypeError, match="cannot cross the wire"):
        rpc.register(HandlesApi, Handles())


def test_an_implementation_must_match_the_protocol() -> None:
    class Missing:
        pass

    class WrongKeywords:
        def last_price(self, *, ticker: str) -> Decimal:
            return Decimal(0)

    with pytest.raises(TypeError, match="is missing"):
        rpc.register(PricesApi, Missing())
    with pytest.raises(TypeError, match="does not accept"):
        rpc.register(PricesApi, WrongKeywords())


@pytest.mark.django_db
def test_the_remote_binding_refuses_a_test_whose_rows_are_never_committed(
    rpc_binding: RpcBinder,
) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"transaction=True"):
        rpc_binding(FillsApi, "remote")
