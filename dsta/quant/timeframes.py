"""Bar durations and the annualisation factor that follows from them.

Crypto trades every day, so a year is 365 days of bars (NUMBERS.md): 525,600 periods for 1m bars,
105,120 for 5m, 8,760 for 1h, 365 for 1d, 365/7 for 1w. The equity libraries' default of 252 is
for markets that close; on 1m data it would change Sharpe by a factor of about 45.

The kernel has its own Timeframe type; dsta.quant may not import the kernel, so this module only
parses the same codes (``1s``..``1w``) into milliseconds.
"""

from dsta.quant.errors import InvalidConfig

DAYS_PER_YEAR = 365
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
YEAR_MS = DAYS_PER_YEAR * _UNIT_MS["d"]


def timeframe_ms(timeframe: str) -> int:
    """Milliseconds in one bar of ``timeframe`` (``"1m"``, ``"4h"``, ``"1d"``...)."""
    code = timeframe.strip()
    unit = code[-1:]
    count = code[:-1]
    if unit not in _UNIT_MS or not count.isdigit() or int(count) <= 0:
        raise InvalidConfig(
            f"unknown timeframe {timeframe!r}: expected <count><unit> with unit in s, m, h, d, w",
            details={"timeframe": timeframe},
        )
    return int(count) * _UNIT_MS[unit]


def periods_per_year(timeframe: str) -> float:
    """Bars in a 365-day year: the annualisation factor for returns sampled at ``timeframe``."""
    return YEAR_MS / timeframe_ms(timeframe)
