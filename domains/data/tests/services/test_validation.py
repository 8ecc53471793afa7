"""The quality checks on their own (no database)."""

import numpy as np
import pytest

from domains.data.services.columns import to_columns
from domains.data.services.validation import check_candles
from domains.data.tests.conftest import NOW_MS
from domains.data.tests.factories import T0, candles, series_key

MINUTE = 60_000


def check(frame, key=None, now_ms=NOW_MS, **kwargs):
    return check_candles(to_columns(frame), series=key or series_key(), now_ms=now_ms, **kwargs)


def reasons_by_row(result):
    return {problem.row: problem.reasons for problem in result.problems}


def test_a_clean_batch_passes_whole_and_sorted():
    frame = candles(50).sample(frac=1, random_state=1)
    result = check(frame)
    assert result.problems == ()
    assert result.duplicates_collapsed == 0
    assert (np.diff(result.good.open_time) == MINUTE).all()


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("open", np.nan, "open is not a finite number"),
        ("close", np.inf, "close is not a finite number"),
        ("low", 0.0, "low must be > 0"),
        ("volume", np.nan, "volume is missing"),
        ("volume", -0.5, "volume is negative"),
        ("quote_volume", -1.0, "quote_volume is negative"),
        ("quote_volume", np.inf, "quote_volume is not a finite number"),
        ("trades", 2.5, "trades is not a whole number"),
    ],
)
def test_each_rule_names_its_reason(column, value, reason):
    frame = candles(5)
    frame.loc[3, column] = value
    result = check(frame)
    assert reason in reasons_by_row(result)[3]
    assert len(result.good) == 4


def test_high_and_low_must_bracket_open_and_close():
    frame = candles(4)
    frame.loc[1, "high"] = max(frame.loc[1, "open"], frame.loc[1, "close"]) * 0.999
    frame.loc[2, "low"] = min(frame.loc[2, "open"], frame.loc[2, "close"]) * 1.001
    reasons = reasons_by_row(check(frame))
    assert reasons[1] == ("high is below max(open, close)",)
    assert reasons[2] == ("low is above min(open, close)",)


def test_misaligned_future_and_unclosed_candles():
    frame = candles(4)
    frame.loc[1, "open_time"] += 1  # 1 ms off the grid
    now = int(frame.loc[3, "open_time"]) + 30_000  # in the middle of the last bar
    frame.loc[2, "open_time"] = now + 5 * MINUTE - (now % MINUTE)  # after now
    reasons = reasons_by_row(check(frame, now_ms=now))
    assert "is not on the 1m grid" in reasons[1][0]
    assert "is in the future" in reasons[2][0]
    assert "is still open until" in reasons[3][0]
    allowed = reasons_by_row(check(frame, now_ms=now, allow_unclosed=True))
    assert 3 not in allowed


def test_identical_duplicates_collapse_and_conflicting_ones_are_all_refused():
    frame = candles(6)
    doubled = frame.iloc[[0, 1, 2, 2, 3, 4, 4, 5]].reset_index(drop=True)
    doubled.loc[6, "close"] = doubled.loc[6, "close"] * 1.0001  # row 6 disagrees with row 5
    doubled.loc[6, "high"] = max(doubled.loc[6, "high"], doubled.loc[6, "close"])
    result = check(doubled)
    assert result.duplicates_collapsed == 1
    assert sorted(reasons_by_row(result)) == [5, 6]
    assert "appears 2 times with different values (rows 5, 6)" in reasons_by_row(result)[5][0]
    assert list(result.good.open_time) == list(frame["open_time"].iloc[[0, 1, 2, 3, 5]])


def test_identical_duplicates_with_nan_values_still_collapse():
    frame = candles(3)
    frame["quote_volume"] = np.nan
    result = check(frame.iloc[[0, 0, 1, 2]])
    assert result.duplicates_collapsed == 1
    assert result.problems == ()


def test_mark_candles_must_not_carry_volume():
    key = series_key(market_type="swap", price_type="mark")
    clean = candles(3, with_volume=False)
    assert check(clean, key).problems == ()
    with_volume = candles(3)
    reasons = reasons_by_row(check(with_volume, key))
    assert reasons[0] == (
        "volume must be empty for mark candles",
        "quote_volume must be empty for mark candles",
        "trades must be empty for mark candles",
    )


def test_funding_rates_may_be_negative_but_must_be_finite():
    key = series_key("8h", market_type="swap", price_type="funding_rate")
    frame = candles(3, step_ms=8 * 3_600_000, with_volume=False)
    for column in ("open", "high", "low", "close"):
        frame[column] = [-0.0001, 0.0003, np.nan]
    reasons = reasons_by_row(check(frame, key))
    assert list(reasons) == [2]


def test_row_numbers_name_rows_in_messages():
    frame = candles(3)
    frame.loc[1, "open"] = np.nan
    result = check(frame, row_numbers=np.array([10, 11, 12]))
    assert [problem.row for problem in result.problems] == [11]
    assert result.problems[0].raw["open"] is None
    assert result.problems[0].raw["open_time"] == T0 + MINUTE
