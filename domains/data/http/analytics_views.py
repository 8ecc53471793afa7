"""``/api/v1/analytics/``: performance of runs, equity curves, rolling Sharpe, correlation
matrices, and report generation and download. Runs and reports are the caller's own (404
otherwise); correlation between symbols reads the shared candle store.
"""

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.data.http.backtest_bodies import report_body
from domains.data.http.backtest_serializers import (
    CorrelationQuerySerializer,
    CurveQuerySerializer,
    ReportBodySerializer,
    RunsQuerySerializer,
    SharpeQuerySerializer,
)
from domains.data.http.backtest_views import owned_run, owner_of, parse, report_file_response
from domains.data.models import Report
from domains.data.services.backtests.analytics import (
    equity_curve,
    performance,
    rolling_sharpe_series,
    runs_correlation,
    symbols_correlation,
)
from domains.data.services.backtests.reports.service import report_start
from domains.data.services.backtests.spec import series_keys
from dsta.kernel.errors import InvalidInput
from dsta.kernel.permissions import AnyRole, IsAnalyst, get_owned_or_404

_ERRORS = {
    400: OpenApiResponse(description="invalid_input"),
    401: OpenApiResponse(description="not signed in"),
    403: OpenApiResponse(description="not allowed"),
    404: OpenApiResponse(description="not_found (also another user's run or report)"),
    409: OpenApiResponse(description="not_finished: the run has no results yet"),
}
_READ = {200: OpenApiTypes.OBJECT, **_ERRORS}


class PerformanceView(APIView):
    """Headline metrics of one run or several (``?run=<id>&run=<id>``)."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="analytics_performance",
        tags=["analytics"],
        parameters=[RunsQuerySerializer],
        responses=_READ,
    )
    def get(self, request: Request) -> Response:
        ids = parse(RunsQuerySerializer, request.query_params)["run"]
        runs = [owned_run(request, run_id) for run_id in ids]
        return Response({"results": performance(runs)})


class EquityCurveView(APIView):
    """A run's equity and drawdown as ``[open_time_ms, value]`` points."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="analytics_equity_curve",
        tags=["analytics"],
        parameters=[CurveQuerySerializer],
        responses=_READ,
    )
    def get(self, request: Request) -> Response:
        query = parse(CurveQuerySerializer, request.query_params)
        run = owned_run(request, query["run"])
        return Response(equity_curve(run, max_points=query["max_points"]))


class SharpeView(APIView):
    """A run's rolling Sharpe ratio over ``window`` bars (annualised, 365-day year)."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="analytics_sharpe",
        tags=["analytics"],
        parameters=[SharpeQuerySerializer],
        responses=_READ,
    )
    def get(self, request: Request) -> Response:
        query = parse(SharpeQuerySerializer, request.query_params)
        run = owned_run(request, query["run"])
        return Response(
            rolling_sharpe_series(run, window=query["window"], max_points=query["max_points"])
        )


class CorrelationView(APIView):
    """Correlation matrix between runs' returns (``?run=a&run=b``) or between symbols' returns
    (``?venue=binance&timeframe=1h&symbol=BTC-USDT&symbol=ETH-USDT[&start&end]``)."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="analytics_correlation",
        tags=["analytics"],
        parameters=[CorrelationQuerySerializer],
        responses=_READ,
    )
    def get(self, request: Request) -> Response:
        query = parse(CorrelationQuerySerializer, request.query_params)
        runs, symbols = query.get("run") or [], query.get("symbol") or []
        if bool(runs) == bool(symbols):
            raise InvalidInput("give either run=<id> (twice or more) or symbol= (twice or more)")
        if runs:
            return Response(runs_correlation([owned_run(request, run_id) for run_id in runs]))
        if not query.get("venue") or not query.get("timeframe"):
            raise InvalidInput("correlating symbols needs venue and timeframe")
        keys = series_keys(
            [
                {
                    "venue": query["venue"],
                    "symbol": symbol,
                    "timeframe": query["timeframe"],
                    "market_type": query["market_type"],
                    "price_type": query["price_type"],
                }
                for symbol in symbols
            ]
        )
        return Response(
            symbols_correlation(series=keys, start_ms=query["start"], end_ms=query["end"])
        )


class ReportGenerateView(APIView):
    """Queue the rendering of a run's report (HTML or PDF); follow the report's URL."""

    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="analytics_reports_generate",
        tags=["analytics"],
        request=ReportBodySerializer,
        responses={202: OpenApiResponse(description="queued"), **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = parse(ReportBodySerializer, request.data)
        run = owned_run(request, body["run_id"])
        report = report_start(run=run, fmt=body["format"], owner_id=owner_of(request))
        return Response(report_body(report), status=202)


class ReportDetailView(APIView):
    """A report's status; ``?download=true`` gives the file itself once it is ready."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="analytics_report",
        tags=["analytics"],
        responses=_READ,
    )
    def get(self, request: Request, report_id: str) -> Any:
        report = get_owned_or_404(Report.objects.all(), request, pk=report_id)
        if str(request.query_params.get("download", "")).lower() in ("1", "true", "yes"):
            response: FileResponse = report_file_response(report)
            return response
        return Response(report_body(report))
