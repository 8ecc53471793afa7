"""The rpc fixtures, plus the sample service registered here and in the child process."""

import pytest

from dsta.kernel.rpc.testing import (  # noqa: F401 (fixtures are found by name)
    live_server_process,
    rpc_binding,
    rpc_server_pool,
)

SAMPLE_MODULES = ("dsta.kernel.rpc.tests.sample_service",)


@pytest.fixture(autouse=True, scope="session")
def _sample_service_registered() -> None:
    # Registers in this process; the child imports the same module via rpc_extra_modules.
    import dsta.kernel.rpc.tests.sample_service  # noqa: F401


@pytest.fixture
def rpc_extra_modules() -> tuple[str, ...]:
    return SAMPLE_MODULES
