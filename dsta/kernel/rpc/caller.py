"""Who is calling an api: the domain of the code that made the call, in-process or remote.

A few api methods must only be called by one domain (core's ``SecretsApi.reveal`` hands
plaintext credentials to the exchange domain, and to nobody else). Such a method asks
:func:`calling_domain` and compares the answer with the identity the caller claims.

- **In-process**, the answer is read from the call stack: the domain (``domains.<name>``) of
  the nearest frame that is neither kernel code nor in one of the ``skip`` module prefixes
  (the callee's own service modules). It cannot be passed as an argument, so code of the
  trading domain that claims to be ``"exchange"`` is still seen as ``"trading"``.
- **Remote**, the generated client sends the calling domain (found the same way in the
  calling process) in the ``X-DSTA-Caller`` header, and the internal endpoint, after checking
  the service token, serves the call inside :func:`serving_remote_call`. The identity is then
  as trustworthy as the service token: every process that holds it runs our own code.

This guards against one domain reaching for what it must not have; it is not a sandbox
against hostile code inside the process (nothing in-process can be).
"""

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Header the rpc client sets and the internal endpoint reads.
CALLER_HEADER = "X-DSTA-Caller"
_DOMAIN_MODULE = re.compile(r"^domains\.([a-z][a-z0-9_]*)(?:\.|$)")
_KERNEL_PREFIX = "dsta.kernel."
# The remote caller of the call being served: unset outside a served call, "" for a remote
# process that named no domain (a management command of another process, say).
_remote_caller: ContextVar[str | None] = ContextVar("dsta_rpc_remote_caller", default=None)


def domain_of_module(module: str) -> str | None:
    """``"exchange"`` for ``domains.exchange.services.x``; None for anything outside domains/."""
    match = _DOMAIN_MODULE.match(module)
    return match.group(1) if match else None


def calling_domain(*, skip: tuple[str, ...] = ()) -> str | None:
    """The domain whose code made the current call, or None when it was no domain's code.

    ``skip`` lists module prefixes to look past (the callee's own modules, e.g.
    ``("domains.core.services",)``); kernel modules are always looked past. While a remote
    call is being served, the caller the remote process named wins over the stack.
    """
    remote = _remote_caller.get()
    if remote is not None:
        return remote or None
    frame = sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if not _skipped(module, skip):
            return domain_of_module(module)
        frame = frame.f_back  # type: ignore[assignment]
    return None


@contextmanager
def serving_remote_call(caller: str | None) -> Iterator[None]:
    """Serve one remote call as coming from ``caller`` (the header's value, if any).

    Only a well-formed domain name is kept; anything else counts as "no domain".
    """
    name = caller.strip() if caller else ""
    valid = name if domain_of_module(f"domains.{name}") == name else ""
    token = _remote_caller.set(valid)
    try:
        yield
    finally:
        _remote_caller.reset(token)


def _skipped(module: str, skip: tuple[str, ...]) -> bool:
    if module.startswith(_KERNEL_PREFIX):
        return True
    return any(module == prefix or module.startswith(prefix + ".") for prefix in skip)
