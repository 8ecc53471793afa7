"""What a backtest request means, checked before anything is queued.

``run_spec(...)`` turns plain values (an API body, command options, a stored row) into a
:class:`RunSpec`: the strategy exists, its parameters have the declared types and ranges, the
engine config is valid, the style is one the strategy implements and every series key is
well formed. Each failure is a 4xx kernel error with a stable code (see ``errors.py``).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domains.data.services.backtests.candles import symbol_names
from domains.data.services.backtests.errors import (
    InvalidEngineConfig,
    InvalidParameters,
    from_quant,
)
from domains.data.services.market_api import series_key
from dsta.kernel.errors import InvalidInput
from dsta.kernel.market import SeriesKey
from dsta.quant import EngineConfig, QuantError, Strategy, get_strategy
from dsta.quant.engine.run import choose_style

# The styles a request may name: the quant engine's, plus "event" meaning "event-driven, the
# compiled callback when the strategy has one" (the fastest event path).
STYLE_CHOICES = ("auto", "vectorised", "event", "event_jit", "event_python")
SERIES_FIELDS = ("venue", "market_type", "symbol", "price_type", "timeframe")


@dataclass(frozen=True)
class RunSpec:
    """A checked backtest request (``params`` complete: defaults filled in)."""

    strategy: str
    params: dict[str, Any]
    series: tuple[SeriesKey, ...]
    start_ms: int | None = None
    end_ms: int | None = None
    config: dict[str, Any] = field(default_factory=dict)
    style: str = "auto"
    allow_gaps: bool = False
    bias_checks: bool = True
    seed: int = 0

    @property
    def timeframe(self) -> str:
        """The timeframe every series shares."""
        return self.series[0].timeframe.code

    def engine_config(self) -> EngineConfig:
        """The engine config the run uses."""
        return engine_config(self.config)

    def series_dicts(self) -> list[dict[str, str]]:
        """The series keys as plain dicts (what rows and job params store)."""
        return [series_dict(key) for key in self.series]


def series_dict(key: SeriesKey) -> dict[str, str]:
    """A series key as a plain dict of strings."""
    return key.as_dict()


def strategy_class(name: object) -> type[Strategy]:
    """The registered strategy class called ``name`` (``unknown_strategy`` otherwise)."""
    if not isinstance(name, str) or not name:
        raise InvalidInput("strategy must be a strategy name", details={"strategy": repr(name)})
    try:
        return get_strategy(name)
    except QuantError as error:
        raise from_quant(error) from None


def checked_params(cls: type[Strategy], params: object) -> dict[str, Any]:
    """Defaults overlaid with ``params``, type-, range- and rule-checked."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise InvalidParameters(
            "params must be an object of parameter values", details={"params": repr(params)}
        )
    try:
        return cls().validate(params)
    except QuantError as error:
        raise from_quant(error) from None


def engine_config(data: object) -> EngineConfig:
    """The engine config from a dict (EngineConfig.to_dict's shape; missing keys: defaults)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InvalidEngineConfig("config must be an object", details={"config": repr(data)})
    for name in ("fees", "slippage", "sizing", "stops", "lots"):
        if name in data and not isinstance(data[name], Mapping):
            raise InvalidEngineConfig(f"config.{name} must be an object", details={"field": name})
    try:
        return EngineConfig.from_dict(dict(data))
    except QuantError as error:
        raise from_quant(error) from None
    except (TypeError, ValueError) as error:
        raise InvalidEngineConfig(f"bad engine config: {error}") from None


def checked_style(cls: type[Strategy], style: str) -> str:
    """The engine style to run (``event`` picks the compiled callback when there is one)."""
    if style not in STYLE_CHOICES:
        raise InvalidEngineConfig(
            f"style must be one of {list(STYLE_CHOICES)}, got {style!r}",
            details={"field": "style"},
        )
    available = cls.styles()
    if style == "event":
        style = "event_jit" if "event_jit" in available else "event"
    elif style == "event_python":
        style = "event"
    try:
        return choose_style(cls(), style)
    except QuantError as error:
        raise from_quant(error) from None


def series_keys(series: object) -> tuple[SeriesKey, ...]:
    """Series keys from one dict or a list of dicts; all must share one timeframe."""
    items = [series] if isinstance(series, Mapping) else series
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise InvalidInput("series must be a series object or a non-empty list of them")
    keys: list[SeriesKey] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise InvalidInput("each series must be an object", details={"series": repr(item)})
        missing = [name for name in ("venue", "symbol", "timeframe") if not item.get(name)]
        if missing:
            raise InvalidInput(f"series needs {', '.join(missing)}", details={"missing": missing})
        keys.append(
            series_key(
                venue=str(item["venue"]),
                symbol=str(item["symbol"]),
                timeframe=str(item["timeframe"]),
                market_type=str(item.get("market_type") or "spot"),
                price_type=str(item.get("price_type") or "trades"),
            )
        )
    if len({key.timeframe.code for key in keys}) > 1:
        raise InvalidInput(
            "every series of one backtest must have the same timeframe",
            details={"timeframes": [key.timeframe.code for key in keys]},
        )
    if len(set(keys)) != len(keys):
        raise InvalidInput("a series is listed twice")
    return tuple(keys)


def run_spec(
    *,
    strategy: object,
    params: object = None,
    series: object,
    start_ms: int | None = None,
    end_ms: int | None = None,
    config: object = None,
    style: str = "auto",
    allow_gaps: bool = False,
    bias_checks: bool = True,
    seed: int = 0,
) -> RunSpec:
    """A checked :class:`RunSpec` (raises a 4xx kernel error naming what is wrong)."""
    cls = strategy_class(strategy)
    values = checked_params(cls, params)
    settings = engine_config(config)
    chosen = checked_style(cls, style)
    keys = series_keys(series)
    try:
        # Lot rules name the run's symbols: a name it does not trade is refused now, not mid-job.
        settings.lots.per_symbol(symbol_names(keys))
    except QuantError as error:
        raise from_quant(error) from None
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise InvalidInput("end must be after start", details={"start": start_ms, "end": end_ms})
    return RunSpec(
        strategy=cls.name,
        params=values,
        series=keys,
        start_ms=start_ms,
        end_ms=end_ms,
        config=settings.to_dict(),
        style=chosen,
        allow_gaps=bool(allow_gaps),
        bias_checks=bool(bias_checks),
        seed=int(seed),
    )
