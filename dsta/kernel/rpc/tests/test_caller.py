"""``calling_domain``: the domain of the calling code, or the remote caller being served."""

from collections.abc import Callable
from typing import Any

from dsta.kernel.rpc.caller import calling_domain, domain_of_module, serving_remote_call


def function_in(module: str, source: str) -> Callable[..., Any]:
    """The function ``f`` defined by ``source`` as if it lived in ``module``."""
    namespace: dict[str, Any] = {"__name__": module, "calling_domain": calling_domain}
    exec(source, namespace)
    return namespace["f"]


def test_the_domain_of_a_module() -> None:
    assert domain_of_module("domains.exchange.services.live") == "exchange"
    assert domain_of_module("domains.ml") == "ml"
    assert domain_of_module("dsta.kernel.rpc") is None
    assert domain_of_module("domainsx.core") is None


CALLEE = "def f():\n    return calling_domain(skip=('domains.core.services',))\n"


def test_the_nearest_caller_outside_the_skipped_modules_decides() -> None:
    # core.services.secrets (the callee, skipped) is called by exchange code.
    callee = function_in("domains.core.services.secrets", CALLEE)
    exchange = function_in("domains.exchange.services.x", "def f(g):\n    return g()\n")
    trading = function_in("domains.trading.services.y", "def f(g, h):\n    return g(h)\n")
    assert exchange(callee) == "exchange"
    # trading code calling through exchange code: the nearest one is exchange.
    assert trading(exchange, callee) == "exchange"
    # Without skip the callee's own module counts.
    assert function_in("domains.core.services.s", "def f():\n    return calling_domain()\n")() == (
        "core"
    )


def test_kernel_frames_are_looked_past_and_non_domain_code_is_none() -> None:
    callee = function_in("domains.core.services.s", CALLEE)
    kernel = function_in("dsta.kernel.rpc.client", "def f(g):\n    return g()\n")
    script = function_in("__main__", "def f(g, k):\n    return k(g)\n")
    data = function_in("domains.data.tasks", "def f(g, k):\n    return k(g)\n")
    assert script(callee, kernel) is None
    assert data(callee, kernel) == "data"
    # This test module is kernel code too: looked past, up to pytest (no domain).
    assert callee() is None


def test_a_served_remote_call_names_the_remote_caller() -> None:
    callee = function_in("domains.core.services.s", CALLEE)
    exchange = function_in("domains.exchange.services.x", "def f(g):\n    return g()\n")
    with serving_remote_call("exchange"):
        assert callee() == "exchange"
    with serving_remote_call("trading"):
        assert exchange(callee) == "trading"  # the served call's identity wins
    with serving_remote_call(None):
        assert callee() is None  # a remote process that named no domain: not the stack
    for forged in ("Exchange", "exchange.sub", "../x", " ", "x" * 5 + "-y"):
        with serving_remote_call(forged):
            assert callee() is None
    assert exchange(callee) == "exchange"  # back to the stack once the call is served
