import pytest

from domains.data.tests.factories import T0

# Candles in the factories start in 2024; a clock well after that keeps them all "closed".
NOW_MS = T0 + 10 * 365 * 86_400_000


@pytest.fixture
def now_ms() -> int:
    return NOW_MS
