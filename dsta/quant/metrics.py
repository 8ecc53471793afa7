"""Performance analytics: equity, drawdowns, risk-adjusted ratios, trade statistics.

Conventions (NUMBERS.md; tested against empyrical-reloaded on the same returns):
- Returns are simple per-bar returns of equity; the first bar's return is measured from the
  initial cash (``BacktestResult.returns``), so N bars give N returns.
- Annualisation factor ``periods_per_year`` = bars in a 365-day year (crypto trades every day):
  525,600 for 1m, 105,120 for 5m, 8,760 for 1h, 365 for 1d (:func:`dsta.quant.timeframes.
  periods_per_year`). Never 252: that is for markets that close.
- Risk-free rate: per period, default 0 (crypto has no risk-free rate everyone agrees on). To use
  an annual rate R, pass ``(1 + R) ** (1 / periods_per_year) - 1``.
- Standard deviations use ddof = 1 (sample), as empyrical, quantstats and vectorbt.
- Sharpe = mean(r - rf) / std(r - rf, ddof=1) * sqrt(ann).
- Sortino = mean(r - req) * ann / (sqrt(mean(min(r - req, 0)^2)) * sqrt(ann)), the downside mean
  taken over all N returns, not only the negative ones.
- CAGR (annualised return) = prod(1 + r) ^ (ann / N) - 1, by bar count.
- Max drawdown counts the starting capital as a peak; reported as a negative fraction (-0.25 is
  a 25 % fall). Its duration is the longest stretch, in bars and in milliseconds, from a peak to
  the bar where equity first gets back to it (or to the last bar, if it never does).
- Calmar = CAGR / |max drawdown|.
- Trade statistics use closed trades (pnl net of fees): win rate = share of trades with pnl > 0;
  profit factor = gross profit / gross loss (inf with no losing trade); expectancy = mean pnl
  per trade, in quote currency.
- Exposure = share of bars ending with a non-zero position in any symbol (backtesting.py's
  "Exposure Time").
- Turnover = traded notional / mean equity: how many times the average capital was traded.
Undefined values (no volatility, no trades) are NaN, never an exception.
"""

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dsta.quant.engine.layout import REASON_NAMES
from dsta.quant.engine.result import BacktestResult

FloatArray = NDArray[np.float64]


def _returns(returns: ArrayLike) -> FloatArray:
    array = np.asarray(returns, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"returns must be 1-D, got {array.ndim}-D")
    return array


def returns_from_equity(equity: ArrayLike, initial: float) -> FloatArray:
    """Per-bar simple returns of an equity curve; the first from ``initial``."""
    curve = np.asarray(equity, dtype=np.float64)
    previous = np.concatenate(([initial], curve[:-1]))
    return curve / previous - 1.0


def equity_curve(returns: ArrayLike, initial: float = 1.0) -> FloatArray:
    """Equity after each bar, compounding ``returns`` from ``initial``."""
    return np.asarray(initial * np.cumprod(1.0 + _returns(returns)), dtype=np.float64)


def drawdown_series(equity: ArrayLike, initial: float | None = None) -> FloatArray:
    """equity / running peak - 1 at every bar (<= 0); ``initial`` counts as the first peak."""
    curve = np.asarray(equity, dtype=np.float64)
    peak = np.maximum.accumulate(curve)
    if initial is not None:
        peak = np.maximum(peak, initial)
    return curve / peak - 1.0


def max_drawdown(returns: ArrayLike) -> float:
    """Largest peak-to-trough fall of the compounded returns, the start counted as a peak."""
    r = _returns(returns)
    if r.size == 0:
        return math.nan
    return float(min(drawdown_series(equity_curve(r), 1.0).min(), 0.0))


def max_drawdown_duration(
    equity: ArrayLike, initial: float, timestamps: ArrayLike | None = None
) -> dict[str, Any]:
    """The longest underwater stretch: ``bars`` below the previous peak, ``start`` (the peak
    bar, -1 for the initial capital), ``end`` (the bar back at the peak, or the last bar),
    ``recovered``, and ``ms`` from the peak bar (bar 0 for the initial capital) to ``end``."""
    curve = np.asarray(equity, dtype=np.float64)
    extended = np.concatenate(([initial], curve))
    peaks = np.flatnonzero(extended >= np.maximum.accumulate(extended))  # indices into extended
    gaps = np.diff(peaks) - 1
    tail = extended.size - 1 - peaks[-1]
    if gaps.size and gaps.max() >= tail:
        j = int(np.argmax(gaps))
        bars, start, end, recovered = int(gaps[j]), int(peaks[j]) - 1, int(peaks[j + 1]) - 1, True
    else:
        bars, start, end, recovered = int(tail), int(peaks[-1]) - 1, curve.size - 1, bool(tail == 0)
    ms: int | None = None
    if timestamps is not None:
        stamps = np.asarray(timestamps, dtype=np.int64)
        ms = int(stamps[end] - stamps[max(start, 0)]) if bars else 0
    return {"bars": bars, "start": start, "end": end, "recovered": recovered, "ms": ms}


def total_return(returns: ArrayLike) -> float:
    """prod(1 + r) - 1."""
    r = _returns(returns)
    return float(np.prod(1.0 + r) - 1.0) if r.size else math.nan


def cagr(returns: ArrayLike, periods_per_year: float) -> float:
    """Compound annual growth rate by bar count: prod(1 + r) ^ (ann / N) - 1."""
    r = _returns(returns)
    if r.size == 0:
        return math.nan
    growth = float(np.prod(1.0 + r))
    if growth <= 0:
        return -1.0
    return growth ** (periods_per_year / r.size) - 1.0


def annual_volatility(returns: ArrayLike, periods_per_year: float) -> float:
    """std(r, ddof=1) * sqrt(ann)."""
    r = _returns(returns)
    if r.size < 2:
        return math.nan
    return float(np.std(r, ddof=1) * math.sqrt(periods_per_year))


def sharpe_ratio(returns: ArrayLike, periods_per_year: float, risk_free: float = 0.0) -> float:
    """mean(r - rf) / std(r - rf, ddof=1) * sqrt(ann); ``risk_free`` per period."""
    excess = _returns(returns) - risk_free
    if excess.size < 2:
        return math.nan
    std = float(np.std(excess, ddof=1))
    if std == 0.0 or not math.isfinite(std):
        return math.nan
    return float(np.mean(excess) / std * math.sqrt(periods_per_year))


def sortino_ratio(
    returns: ArrayLike, periods_per_year: float, required_return: float = 0.0
) -> float:
    """Annualised mean excess return over annualised downside deviation (over all N returns)."""
    excess = _returns(returns) - required_return
    if excess.size < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2))) * math.sqrt(periods_per_year)
    if downside == 0.0:
        return math.nan if np.mean(excess) <= 0 else math.inf
    return float(np.mean(excess) * periods_per_year / downside)


def calmar_ratio(returns: ArrayLike, periods_per_year: float) -> float:
    """CAGR / |max drawdown|; NaN without a drawdown."""
    drawdown = max_drawdown(returns)
    if not drawdown or math.isnan(drawdown):
        return math.nan
    return cagr(returns, periods_per_year) / abs(drawdown)


def rolling_sharpe(
    returns: ArrayLike, window: int, periods_per_year: float, risk_free: float = 0.0
) -> FloatArray:
    """Sharpe ratio over each trailing ``window`` of returns (NaN before it fills)."""
    from dsta.quant.indicators import rolling_std, sma

    if window < 2:
        raise ValueError("rolling_sharpe: window must be >= 2")
    excess = _returns(returns) - risk_free
    mean = sma(excess, window)
    std = rolling_std(excess, window, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mean / std * math.sqrt(periods_per_year)
    out[~np.isfinite(out)] = np.nan
    return out


def correlation_matrix(returns: ArrayLike) -> FloatArray:
    """Pearson correlations between the columns of (bars, series) returns; rows holding a NaN
    in any column are dropped first. A constant column correlates NaN."""
    matrix = np.asarray(returns, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError("correlation_matrix needs a 2-D (bars, series) array")
    rows = matrix[np.isfinite(matrix).all(axis=1)]
    if rows.shape[0] < 2:
        return np.full((matrix.shape[1], matrix.shape[1]), np.nan)
    centred = rows - rows.mean(axis=0)
    norms = np.sqrt((centred**2).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = (centred.T @ centred) / np.outer(norms, norms)
    corr = np.clip(corr, -1.0, 1.0)
    np.fill_diagonal(corr, np.where(norms > 0, 1.0, np.nan))
    return corr


def trade_stats(pnl: ArrayLike) -> dict[str, float]:
    """Win rate, profit factor, expectancy and friends from per-trade net pnl."""
    values = np.asarray(pnl, dtype=np.float64)
    n = int(values.size)
    wins = values[values > 0]
    losses = values[values < 0]
    gross_profit = float(wins.sum())
    gross_loss = float(-losses.sum())
    if n == 0:
        profit_factor = math.nan
    elif gross_loss == 0.0:
        profit_factor = math.inf if gross_profit > 0 else math.nan
    else:
        profit_factor = gross_profit / gross_loss
    return {
        "trades": n,
        "win_rate": wins.size / n if n else math.nan,
        "profit_factor": profit_factor,
        "expectancy": float(values.mean()) if n else math.nan,
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "average_win": float(wins.mean()) if wins.size else math.nan,
        "average_loss": float(losses.mean()) if losses.size else math.nan,
        "best_trade": float(values.max()) if n else math.nan,
        "worst_trade": float(values.min()) if n else math.nan,
    }


def exposure(positions: ArrayLike) -> float:
    """Share of bars that end with a non-zero position in any symbol."""
    held = np.asarray(positions, dtype=np.float64)
    if held.ndim == 1:
        held = held[:, None]
    return float((held != 0.0).any(axis=1).mean()) if held.size else math.nan


def turnover(result: BacktestResult) -> float:
    """Traded notional / mean equity."""
    notional = float(np.abs(result.fills["size"] * result.fills["price"]).sum())
    mean_equity = float(np.mean(result.equity))
    return notional / mean_equity if mean_equity > 0 else math.nan


def symbol_attribution(result: BacktestResult) -> list[dict[str, Any]]:
    """Per symbol: pnl (realised + open, net of fees; the symbols' pnl add up to the account's),
    fees, traded notional, trade statistics of its closed trades."""
    last_close = result.close[-1]
    rows = []
    for s, symbol in enumerate(result.symbols):
        fills = result.fills[result.fills["symbol"] == s]
        cash_flow = -float((fills["size"] * fills["price"]).sum()) - float(fills["fee"].sum())
        pnl = cash_flow + float(result.positions[-1, s] * last_close[s])
        closed = result.trades[(result.trades["symbol"] == s) & ~result.trades["is_open"]]
        stats = trade_stats(closed["pnl"])
        rows.append(
            {
                "symbol": symbol,
                "pnl": pnl,
                "fees": float(fills["fee"].sum()),
                "traded_notional": float(np.abs(fills["size"] * fills["price"]).sum()),
                "trades": stats["trades"],
                "win_rate": stats["win_rate"],
                "profit_factor": stats["profit_factor"],
                "expectancy": stats["expectancy"],
            }
        )
    return rows


def summary(
    result: BacktestResult, periods_per_year: float | None = None, risk_free: float = 0.0
) -> dict[str, Any]:
    """Every headline metric of a run, JSON-ready (NaN/inf stay floats).

    ``periods_per_year`` defaults to the bars' timeframe in the manifest (365-day year); without
    either, ratios that need it are NaN.
    """
    if periods_per_year is None:
        timeframe = result.manifest.get("bars", {}).get("timeframe")
        if timeframe:
            from dsta.quant.timeframes import periods_per_year as _ppy

            periods_per_year = _ppy(timeframe)
    ann = periods_per_year if periods_per_year else math.nan
    r = result.returns
    closed = result.trades[~result.trades["is_open"]]
    stats = trade_stats(closed["pnl"])
    duration = max_drawdown_duration(result.equity, result.initial_cash, result.timestamps)
    reasons = {
        name: int((closed["exit_reason"] == code).sum()) for code, name in enumerate(REASON_NAMES)
    }
    return {
        "initial_cash": result.initial_cash,
        "final_equity": float(result.equity[-1]),
        "total_return": total_return(r),
        "annualised_return": cagr(r, ann),
        "annualised_volatility": annual_volatility(r, ann),
        "sharpe": sharpe_ratio(r, ann, risk_free),
        "sortino": sortino_ratio(r, ann, risk_free),
        "calmar": calmar_ratio(r, ann),
        "max_drawdown": max_drawdown(r),
        "max_drawdown_bars": duration["bars"],
        "max_drawdown_ms": duration["ms"],
        "max_drawdown_recovered": duration["recovered"],
        **{
            key: stats[key]
            for key in (
                "trades",
                "win_rate",
                "profit_factor",
                "expectancy",
                "best_trade",
                "worst_trade",
            )
        },
        "open_trades": int(result.trades["is_open"].sum()),
        "exit_reasons": reasons,
        "exposure": exposure(result.positions),
        "turnover": turnover(result),
        "fees_paid": result.fees_paid,
        "periods_per_year": periods_per_year,
        "risk_free_per_period": risk_free,
        "bars": int(r.size),
    }
