import numpy as np
import pytest

from dsta.quant import Bars, InvalidBars, periods_per_year
from dsta.quant.tests.candles import make_bars


def _arrays(n: int = 4) -> dict:
    prices = np.linspace(10, 13, n)
    return {
        "timestamps": np.arange(n, dtype=np.int64) * 60_000,
        "open": prices,
        "high": prices + 1,
        "low": prices - 1,
        "close": prices,
        "volume": np.ones(n),
    }


def test_one_symbol_becomes_a_column_of_the_price_block() -> None:
    bars = Bars.from_arrays(**_arrays(), timeframe="1m")

    assert bars.prices.shape == (5, 4, 1)
    assert bars.prices.flags.c_contiguous
    assert np.array_equal(bars.column("high"), _arrays()["high"])
    assert bars.periods_per_year() == 525_600


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"timestamps": np.array([], dtype=np.int64)}, "no bars"),
        ({"timestamps": np.array([0, 60_000, 60_000, 180_000])}, "bar 2"),
        ({"timestamps": np.array([0.0, 1.0, 2.0, 3.0])}, "integer milliseconds"),
        ({"close": np.array([10.0, np.nan, 12.0, 13.0])}, "close of SYMBOL at bar 1"),
        ({"low": np.array([9.0, 0.0, 11.0, 12.0])}, "low of SYMBOL at bar 1"),
        ({"volume": np.array([1.0, -1.0, 1.0, 1.0])}, "volume of SYMBOL at bar 1"),
        ({"open": np.ones(3)}, "shape"),
    ],
)
def test_bad_bars_are_refused_with_the_offending_bar(change: dict, fragment: str) -> None:
    arrays = {**_arrays(), **change}

    with pytest.raises(InvalidBars, match=fragment):
        Bars.from_arrays(**arrays)


def test_slice_and_digest() -> None:
    bars = make_bars([1, 2, 3, 4, 5])

    part = bars.slice(1, 3)

    assert list(part.close[:, 0]) == [2.0, 3.0]
    assert bars.digest() == make_bars([1, 2, 3, 4, 5]).digest()
    assert bars.digest() != make_bars([1, 2, 3, 4, 6]).digest()
    with pytest.raises(InvalidBars, match="empty"):
        bars.slice(3, 3)


def test_annualisation_uses_a_365_day_year() -> None:
    assert periods_per_year("1m") == 525_600
    assert periods_per_year("5m") == 105_120
    assert periods_per_year("1h") == 8_760
    assert periods_per_year("1d") == 365
    assert periods_per_year("1w") == pytest.approx(365 / 7)
