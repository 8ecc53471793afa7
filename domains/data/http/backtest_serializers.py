"""Request shapes of ``/api/v1/backtest/`` and ``/api/v1/analytics/``.

Serializers check the shape and types of the envelope; what the values mean (a strategy's
parameters, the engine config, a search space, the series keys) is checked by the services,
which answer with specific codes (``unknown_strategy``, ``invalid_parameters``,
``invalid_config``, ``gapped_range``...). Times are ISO-8601 or UTC milliseconds.
"""

from typing import Any

from rest_framework import serializers

from domains.data.http.serializers import MomentField
from domains.data.services.backtests.montecarlo import MAX_SIMS
from domains.data.services.backtests.montecarlo import METHODS as MC_METHODS
from domains.data.services.backtests.optimize import DEFAULT_CHUNK, METHODS, METRICS
from domains.data.services.backtests.spec import STYLE_CHOICES

SERIES_HELP = (
    "one series {venue, symbol, timeframe, market_type=spot, price_type=trades} or a list of "
    "them (several symbols, one timeframe, one shared cash account)"
)


class BacktestBaseSerializer(serializers.Serializer[Any]):
    strategy = serializers.CharField(max_length=100, help_text="a name from /backtest/strategies")
    params = serializers.JSONField(required=False, default=dict, help_text="parameter values")
    series = serializers.JSONField(help_text=SERIES_HELP)
    start = MomentField(required=False, allow_null=True, default=None)
    end = MomentField(required=False, allow_null=True, default=None, help_text="exclusive")
    config = serializers.JSONField(
        required=False,
        default=dict,
        help_text="engine config: initial_cash, fees {maker, taker}, slippage {kind, bps, "
        "impact_bps, max_bps}, sizing {kind, value, vol_window}, stops {stop_loss, "
        "take_profit, trailing}, fill_timing next_open|same_close, max_leverage, allow_short, "
        "close_at_end, lots {amount_step, min_notional} (a number, or {symbol: number})",
    )
    # "style" shadows Field.style (a rendering hint) for type checkers only: DRF keeps declared
    # fields apart from attributes.
    style = serializers.ChoiceField(  # type: ignore[assignment]
        choices=list(STYLE_CHOICES), default="auto"
    )
    allow_gaps = serializers.BooleanField(default=False)
    seed = serializers.IntegerField(default=0, min_value=0, max_value=2**32 - 1)


class RunBodySerializer(BacktestBaseSerializer):
    bias_checks = serializers.BooleanField(
        default=True, help_text="lookahead (truncation) and indicator warm-up checks"
    )


class OptimizeBodySerializer(BacktestBaseSerializer):
    method = serializers.ChoiceField(choices=list(METHODS), default="grid")
    space = serializers.JSONField(
        help_text='per parameter a list of values or {"low", "high", "steps"}'
    )
    n_samples = serializers.IntegerField(default=100, min_value=1, help_text="random / bayes")
    metric = serializers.ChoiceField(choices=list(METRICS), default="sharpe")
    chunk_size = serializers.IntegerField(default=DEFAULT_CHUNK, min_value=1, max_value=10_000)
    top = serializers.IntegerField(default=20, min_value=1, max_value=1_000)


class WalkForwardBodySerializer(BacktestBaseSerializer):
    method = serializers.ChoiceField(choices=["grid", "random"], default="grid")
    space = serializers.JSONField()
    n_samples = serializers.IntegerField(default=50, min_value=1)
    metric = serializers.ChoiceField(choices=list(METRICS), default="sharpe")
    train_bars = serializers.IntegerField(min_value=1)
    test_bars = serializers.IntegerField(min_value=1)
    step_bars = serializers.IntegerField(required=False, allow_null=True, default=None)
    anchored = serializers.BooleanField(default=False)


class MonteCarloBodySerializer(serializers.Serializer[Any]):
    run_id = serializers.CharField(max_length=64)
    method = serializers.ChoiceField(choices=list(MC_METHODS), default="trades_reshuffle")
    n_sims = serializers.IntegerField(default=1_000, min_value=1, max_value=MAX_SIMS)
    seed = serializers.IntegerField(default=0, min_value=0, max_value=2**32 - 1)
    ruin_level = serializers.FloatField(default=0.5, min_value=0.0, max_value=0.999999)
    block = serializers.IntegerField(default=1, min_value=1)


class ResultsQuerySerializer(serializers.Serializer[Any]):
    max_points = serializers.IntegerField(default=2_000, min_value=10, max_value=20_000)
    trades_limit = serializers.IntegerField(default=100, min_value=1, max_value=1_000)
    trades_offset = serializers.IntegerField(default=0, min_value=0)


class ListQuerySerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(default=50, min_value=1, max_value=500)
    offset = serializers.IntegerField(default=0, min_value=0)


class ReportQuerySerializer(serializers.Serializer[Any]):
    format = serializers.ChoiceField(choices=["html", "pdf"], default="html")


class ReportBodySerializer(serializers.Serializer[Any]):
    run_id = serializers.CharField(max_length=64)
    format = serializers.ChoiceField(choices=["html", "pdf"], default="html")


class RunsQuerySerializer(serializers.Serializer[Any]):
    run = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=50
    )


class CurveQuerySerializer(serializers.Serializer[Any]):
    run = serializers.CharField(max_length=64)
    max_points = serializers.IntegerField(default=2_000, min_value=10, max_value=20_000)


class SharpeQuerySerializer(CurveQuerySerializer):
    window = serializers.IntegerField(default=30, min_value=2)


class CorrelationQuerySerializer(serializers.Serializer[Any]):
    run = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=50
    )
    symbol = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=50
    )
    venue = serializers.CharField(required=False, max_length=32)
    timeframe = serializers.CharField(required=False, max_length=4)
    market_type = serializers.CharField(default="spot", max_length=8)
    price_type = serializers.CharField(default="trades", max_length=16)
    start = MomentField(required=False, allow_null=True, default=None)
    end = MomentField(required=False, allow_null=True, default=None)
