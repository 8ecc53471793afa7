import pytest

from domains.data.tests.factories import T0
from domains.data.tests.fixtures import (  # noqa: F401 (fixtures are found by name)
    inprocess_bus,
    job_worker,
    recorded_exchange,
    trader,
    viewer,
)
from dsta.kernel.rpc.testing import (  # noqa: F401 (fixtures are found by name)
    live_server_process,
    rpc_binding,
    rpc_extra_modules,
    rpc_server_pool,
)

# Candles in the factories start in 2024; a clock well after that keeps them all "closed".
NOW_MS = T0 + 10 * 365 * 86_400_000


@pytest.fixture
def now_ms() -> int:
    return NOW_MS
