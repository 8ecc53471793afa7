"""``/api/v1/market-data/``: series, candles (JSON or streamed CSV), order books, gaps, and the
ingestion and gap-filling jobs. Thin: parse, call one service, render.

Reads need a signed-in user with any role; starting a sync or a gap fill needs the trader role.
"""

import csv
import io
from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domains.data.api import CandleSeries, GapInfo, SeriesSummary
from domains.data.http.serializers import (
    GapFillBodySerializer,
    GapsQuerySerializer,
    GapsResponseSerializer,
    JobAcceptedSerializer,
    OhlcvQuerySerializer,
    OhlcvResponseSerializer,
    OrderBookQuerySerializer,
    OrderBookSerializer,
    SeriesListQuerySerializer,
    SeriesListSerializer,
    SyncBodySerializer,
)
from domains.data.services.gap_filling import fill_start
from domains.data.services.ingestion import sync_start
from domains.data.services.market_api import series_key
from domains.data.services.orderbook import order_book_snapshot
from domains.data.services.serving import (
    candles_page,
    page_request,
    series_gaps,
    series_summaries,
)
from domains.data.services.validation import iso
from domains.data.services.venue_feed import datetime_to_ms
from dsta.kernel.errors import InvalidInput
from dsta.kernel.jobs.api import JobInfo
from dsta.kernel.market import SeriesKey, Timeframe, symbol_from_url
from dsta.kernel.permissions import AnyRole, IsTrader

# GET /gaps without a full series key looks at this many series at most (each is a scan).
GAPS_MAX_SERIES = 100
CSV_COLUMNS = (
    "open_time",
    "time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trades",
    "complete",
    "synthetic",
)
CSV_CHUNK_ROWS = 1000

_ERRORS = {
    400: OpenApiResponse(description="invalid_input: bad parameters, with the reason"),
    401: OpenApiResponse(description="not signed in"),
    403: OpenApiResponse(description="not allowed"),
}
_SYMBOL = OpenApiParameter(
    "symbol",
    str,
    location=OpenApiParameter.PATH,
    description="URL form of a ccxt symbol: BTC-USDT (spot), BTC-USDT:USDT (swap), "
    "BTC-USDT:USDT-240329 (future)",
)


def _parse(serializer_class: Any, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def summary_body(summary: SeriesSummary) -> dict[str, Any]:
    """A series as the API shows it."""
    return {
        "venue": summary.venue,
        "market_type": summary.market_type,
        "symbol": summary.symbol,
        "url_symbol": summary.url_symbol,
        "price_type": summary.price_type,
        "timeframe": summary.timeframe,
        "first_open_time": summary.first_open_time,
        "last_open_time": summary.last_open_time,
        "candle_count": summary.candle_count,
        "expected_count": summary.expected_count,
        "coverage": round(summary.coverage, 6),
        "open_gaps": summary.open_gaps,
        "synthetic": summary.synthetic,
        "keep_up": summary.keep_up,
    }


def job_body(info: JobInfo) -> dict[str, Any]:
    """A just-started job and where to follow it."""
    return {
        "id": str(info.id),
        "kind": info.kind,
        "status": info.status.value,
        "url": f"/api/v1/jobs/{info.id}/",
    }


def gap_body(gap: GapInfo) -> dict[str, Any]:
    return {
        "start": gap.start,
        "end": gap.end,
        "start_ms": datetime_to_ms(gap.start),
        "end_ms": datetime_to_ms(gap.end),
        "missing_bars": gap.missing_bars,
        "state": gap.state,
    }


class SeriesListView(APIView):
    """Every stored series with its coverage."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="market_data_series",
        tags=["market-data"],
        parameters=[SeriesListQuerySerializer],
        responses={200: SeriesListSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = _parse(SeriesListQuerySerializer, request.query_params)
        symbol = query.get("symbol")
        summaries = series_summaries(
            venue=query.get("venue"),
            symbol=symbol_from_url(symbol) if symbol else None,
            timeframe=query.get("timeframe"),
            market_type=query.get("market_type"),
            price_type=query.get("price_type"),
            synthetic=query.get("synthetic"),
        )
        return Response({"results": [summary_body(summary) for summary in summaries]})


class _JsonOnly:
    """Always negotiate JSON: ``?format=csv`` is this view's own parameter (DRF would
    otherwise look for a renderer named csv and answer 404)."""

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        renderer = JSONRenderer()
        return renderer, renderer.media_type


def _candle_rows(page: CandleSeries) -> Iterator[list[Any]]:
    for i, open_time in enumerate(page.open_time):
        yield [
            open_time,
            iso(open_time),
            page.open[i],
            page.high[i],
            page.low[i],
            page.close[i],
            page.volume[i],
            page.quote_volume[i],
            page.trades[i],
            page.complete[i],
            page.synthetic_bars[i],
        ]


def _csv_stream(page: CandleSeries) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for number, row in enumerate(_candle_rows(page), start=1):
        writer.writerow(["" if value is None else value for value in row])
        if number % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def ohlcv_body(page: CandleSeries) -> dict[str, Any]:
    """A page of candles as JSON: one object per bar."""
    return {
        "series": {
            "venue": page.venue,
            "market_type": page.market_type,
            "symbol": page.symbol,
            "url_symbol": page.symbol.replace("/", "-", 1),
            "price_type": page.price_type,
            "timeframe": page.timeframe,
            "source_timeframe": page.source_timeframe,
        },
        "synthetic": page.synthetic,
        "resampled": page.resampled,
        "count": len(page),
        "next_cursor": page.next_cursor,
        "candles": [dict(zip(CSV_COLUMNS, row, strict=True)) for row in _candle_rows(page)],
    }


class OhlcvView(_JsonOnly, APIView):
    """Candles of one series, a page at a time, as JSON or CSV (streamed)."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="market_data_ohlcv",
        tags=["market-data"],
        parameters=[_SYMBOL, OhlcvQuerySerializer],
        responses={
            200: OhlcvResponseSerializer,
            **_ERRORS,
            404: OpenApiResponse(description="unknown_series: nothing stored for it"),
        },
    )
    def get(self, request: Request, symbol: str) -> Response | StreamingHttpResponse:
        query = _parse(OhlcvQuerySerializer, request.query_params)
        key = series_key(
            venue=query["venue"],
            symbol=symbol,
            timeframe=query["timeframe"],
            market_type=query["market_type"],
            price_type=query["price_type"],
        )
        page = candles_page(
            page_request(
                series=key,
                start=query.get("start"),
                end=query.get("end"),
                limit=query["limit"],
                cursor=query.get("cursor"),
            )
        )
        if query["format"] == "csv":
            response = StreamingHttpResponse(_csv_stream(page), content_type="text/csv")
            filename = f"{key.venue}_{key.url_symbol}_{key.timeframe.code}.csv".replace(":", "_")
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            response["X-DSTA-Synthetic"] = "true" if page.synthetic else "false"
            if page.next_cursor is not None:
                response["X-DSTA-Next-Cursor"] = str(page.next_cursor)
            return response
        return Response(ohlcv_body(page))


class OrderBookView(APIView):
    """The venue's current order book of one symbol, read through the exchange domain."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="market_data_orderbook",
        tags=["market-data"],
        parameters=[_SYMBOL, OrderBookQuerySerializer],
        responses={
            200: OrderBookSerializer,
            **_ERRORS,
            404: OpenApiResponse(description="unknown_venue or unknown_symbol"),
            503: OpenApiResponse(description="venue_unavailable"),
        },
    )
    def get(self, request: Request, symbol: str) -> Response:
        query = _parse(OrderBookQuerySerializer, request.query_params)
        book = order_book_snapshot(
            venue=query["venue"], symbol=symbol_from_url(symbol), depth=query.get("depth")
        )
        return Response(
            {
                "venue": book.venue,
                "symbol": book.symbol,
                "timestamp": book.timestamp,
                "sequence": book.sequence,
                "bids": [[str(level.price), str(level.amount)] for level in book.bids],
                "asks": [[str(level.price), str(level.amount)] for level in book.asks],
            }
        )


class GapsView(APIView):
    """Missing ranges of the stored series matching the filters (at most 100 series)."""

    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="market_data_gaps",
        tags=["market-data"],
        parameters=[GapsQuerySerializer],
        responses={
            200: GapsResponseSerializer,
            **_ERRORS,
            404: OpenApiResponse(description="unknown_series (a full series key was given)"),
        },
    )
    def get(self, request: Request) -> Response:
        query = _parse(GapsQuerySerializer, request.query_params)
        start, end = query.get("start"), query.get("end")
        symbol = symbol_from_url(query["symbol"]) if query.get("symbol") else None
        summaries = series_summaries(
            venue=query.get("venue"),
            symbol=symbol,
            timeframe=query.get("timeframe"),
            market_type=query.get("market_type"),
            price_type=query.get("price_type"),
            synthetic=query.get("synthetic"),
        )
        if symbol and query.get("venue") and query.get("timeframe") and not summaries:
            # A fully named series that is not stored: say so instead of an empty list.
            series_gaps(
                series=SeriesKey.of(
                    query["venue"],
                    query.get("market_type") or "spot",
                    symbol,
                    query.get("price_type") or "trades",
                    query["timeframe"],
                ),
                start=start,
                end=end,
            )
        if len(summaries) > GAPS_MAX_SERIES:
            raise InvalidInput(
                f"{len(summaries)} series match; narrow the filters to at most {GAPS_MAX_SERIES}",
                details={"matching": len(summaries), "max": GAPS_MAX_SERIES},
            )
        results = []
        for summary in summaries:
            key = SeriesKey.of(
                summary.venue,
                summary.market_type,
                summary.symbol,
                summary.price_type,
                Timeframe(summary.timeframe),
            )
            gaps = series_gaps(series=key, start=start, end=end)
            results.append(
                {
                    "series": summary_body(summary),
                    "gap_count": len(gaps),
                    "missing_bars": sum(gap.missing_bars for gap in gaps),
                    "gaps": [gap_body(gap) for gap in gaps],
                }
            )
        return Response({"results": results})


class GapFillView(APIView):
    """Start a gap-filling job: the venue first, ``venue_has_none`` where it has nothing,
    synthetic bars only with ``synthesize=true``."""

    permission_classes = [IsTrader]

    @extend_schema(
        operation_id="market_data_gaps_fill",
        tags=["market-data"],
        request=GapFillBodySerializer,
        responses={
            202: JobAcceptedSerializer,
            **_ERRORS,
            404: OpenApiResponse(description="unknown_series or unknown_venue"),
        },
    )
    def post(self, request: Request) -> Response:
        body = _parse(GapFillBodySerializer, request.data)
        key = series_key(
            venue=body["venue"],
            symbol=body["symbol"],
            timeframe=body["timeframe"],
            market_type=body["market_type"],
            price_type=body["price_type"],
        )
        info = fill_start(
            series=key,
            start=body["start"],
            end=body["end"],
            synthesize=body["synthesize"],
            owner_id=request.user.pk,
        )
        return Response(job_body(info), status=202)


class SyncView(APIView):
    """Start a backfill (``mode=backfill``) or a backfill that then keeps the series up
    (``mode=keep_up``), run as a job; follow it at ``/api/v1/jobs/{id}/``."""

    permission_classes = [IsTrader]

    @extend_schema(
        operation_id="market_data_sync",
        tags=["market-data"],
        request=SyncBodySerializer,
        responses={
            202: JobAcceptedSerializer,
            **_ERRORS,
            404: OpenApiResponse(description="unknown_venue"),
        },
    )
    def post(self, request: Request) -> Response:
        body = _parse(SyncBodySerializer, request.data)
        key = series_key(
            venue=body["venue"],
            symbol=body["symbol"],
            timeframe=body["timeframe"],
            market_type=body["market_type"],
            price_type=body["price_type"],
        )
        info = sync_start(
            series=key,
            start=body["start"],
            end=body["end"],
            mode=body["mode"],
            owner_id=request.user.pk,
        )
        return Response(job_body(info), status=202)
