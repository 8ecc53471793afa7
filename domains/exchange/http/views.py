"""``/api/v1/exchange/``: orders, balances and market data per venue, accounts, health.

Thin: each view validates its input (a 400 before anything reaches a venue), finds the
caller's account (``account_id`` or their default on the venue; another user's account is a
404) and calls one method of ``ExchangeApi`` or one service. Reading needs a signed-in user;
placing and cancelling orders, and opening accounts, need the trader role.
"""

from dataclasses import replace
from datetime import timedelta
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from domains.exchange.api import (
    OrderRequest,
    UnknownVenue,
    Venue,
    exchange_api,
)
from domains.exchange.http.serializers import (
    AccountChoice,
    AccountDetailOut,
    AccountOut,
    BalancesOut,
    BatchCancelBody,
    CancelBody,
    CancelResultOut,
    DefaultAccountBody,
    FillListQuery,
    FillPageOut,
    FillRecordOut,
    HealthOut,
    LiveAccountBody,
    MarketListQuery,
    MarketOut,
    OrderAckOut,
    OrderBookOut,
    OrderListQuery,
    OrderPageOut,
    OrderPlaceBody,
    OrderRecordOut,
    PaperAccountBody,
    PublicTradeOut,
    ReconcileReportOut,
    TickerOut,
    VenueStatusOut,
)
from domains.exchange.services.accounts import (
    AccountRef,
    account_for_owner,
    account_set_default,
    accounts_of,
    live_account_create,
    paper_account_open,
)
from domains.exchange.services.orders.reconciler import (
    ReconcileReport,
    ReconcileSettings,
    reconcile_account,
)
from domains.exchange.services.orders.selectors import fills_of_owner, orders_of_owner
from domains.exchange.services.paper.state import PaperConfig
from dsta.kernel.errors import InvalidInput, Unauthenticated
from dsta.kernel.market import symbol_from_url
from dsta.kernel.permissions import AnyRole, IsTrader, principal_of

_ACCOUNT = OpenApiParameter(
    "account_id", str, description="Your account on the venue (default: your default one)."
)
_SYMBOL = OpenApiParameter(
    "symbol", str, description="BTC-USDT or BTC/USDT (required on real venues)."
)
_DEPTH = OpenApiParameter("depth", int, description="Levels a side (1-5000).")
_TRADES_LIMIT = OpenApiParameter("limit", int, description="Latest trades (1-1000, default 100).")
_ERRORS = {
    400: OpenApiResponse(description="invalid_input / invalid_order / below_minimum"),
    401: OpenApiResponse(description="unauthenticated"),
    403: OpenApiResponse(description="forbidden (role) / auth_failed (venue credentials)"),
    404: OpenApiResponse(description="unknown_venue / unknown_symbol / unknown_account"),
    429: OpenApiResponse(description="rate_limited (details.retry_after)"),
    503: OpenApiResponse(description="venue_unavailable (breaker open, network, 5xx)"),
}


def _venue(venue: str) -> str:
    try:
        return Venue(venue).value
    except ValueError:
        raise UnknownVenue(
            f"unknown venue {venue!r}",
            details={"venue": venue, "supported": [v.value for v in Venue]},
        ) from None


def _owner(request: Request) -> int:
    principal = principal_of(request)
    if principal is None:  # the permission classes refuse anonymous callers first
        raise Unauthenticated("sign in first")
    return principal.user_id


def _valid(serializer: Serializer) -> dict[str, Any]:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _symbol(text: str) -> str:
    return symbol_from_url(text.strip())


def _symbol_for(account: AccountRef, text: str | None) -> str:
    """The order's symbol: optional on paper accounts (the order knows it), required on real
    venues (they look orders up per symbol)."""
    if text:
        return _symbol(text)
    if account.kind == "live":
        raise InvalidInput(f"symbol is required on {account.venue}", details={"field": "symbol"})
    return ""


def _account_json(ref: AccountRef) -> dict[str, Any]:
    return dict(AccountOut(ref).data)


class _ExchangeView(APIView):
    permission_classes = [AnyRole]

    def account(self, request: Request, venue: str, choice: dict[str, Any]) -> AccountRef:
        return account_for_owner(
            owner_id=_owner(request), venue=venue, account_id=choice.get("account_id")
        )


class OrderPlaceView(_ExchangeView):
    permission_classes = [IsTrader]

    @extend_schema(
        operation_id="exchange_order_place",
        tags=["exchange"],
        request=OrderPlaceBody,
        responses={
            201: OrderAckOut,
            409: OpenApiResponse(description="insufficient_funds / duplicate_order"),
            **_ERRORS,
        },
    )
    def post(self, request: Request, venue: str) -> Response:
        venue = _venue(venue)
        body = _valid(OrderPlaceBody(data=request.data))
        order = OrderRequest(
            symbol=_symbol(body["symbol"]),
            side=body["side"],
            type=body["type"],
            amount=body["amount"],
            price=body.get("price"),
            stop_price=body.get("stop_price"),
            time_in_force=body["time_in_force"],
            post_only=body["post_only"],
            reduce_only=body["reduce_only"],
            client_order_id=body.get("client_order_id") or None,
        )
        account = self.account(request, venue, body)
        ack = exchange_api().place_order(account_id=account.id, request=order)
        return Response(OrderAckOut(ack).data, status=201)


class OrderDetailView(_ExchangeView):
    @extend_schema(
        operation_id="exchange_order_get",
        tags=["exchange"],
        parameters=[_ACCOUNT, _SYMBOL],
        responses={200: OrderAckOut, **_ERRORS},
    )
    def get(self, request: Request, venue: str, client_order_id: str) -> Response:
        venue = _venue(venue)
        choice = _valid(AccountChoice(data=request.query_params))
        account = self.account(request, venue, choice)
        symbol = _symbol_for(account, request.query_params.get("symbol"))
        ack = exchange_api().get_order(
            account_id=account.id, symbol=symbol, client_order_id=client_order_id
        )
        return Response(OrderAckOut(ack).data)


class OrderListView(_ExchangeView):
    @extend_schema(
        operation_id="exchange_orders",
        tags=["exchange"],
        parameters=[OrderListQuery],
        responses={200: OrderPageOut, **_ERRORS},
    )
    def get(self, request: Request, venue: str) -> Response:
        """Your orders on the venue, newest first: paper ones and the live order ledger."""
        venue = _venue(venue)
        query = _valid(OrderListQuery(data=request.query_params))
        owner_id = _owner(request)
        account_ids = None
        if query.get("account_id"):
            account_ids = [self.account(request, venue, query).id]
        records = orders_of_owner(
            owner_id=owner_id,
            venue=venue,
            account_ids=account_ids,
            status=query.get("status"),
            symbol=_symbol(query["symbol"]) if query.get("symbol") else None,
            outcome=query.get("outcome"),
            limit=query["limit"],
            offset=query["offset"],
        )
        return Response(
            {
                "results": OrderRecordOut(records, many=True).data,
                "limit": query["limit"],
                "offset": query["offset"],
            }
        )


class FillListView(_ExchangeView):
    @extend_schema(
        operation_id="exchange_fills",
        tags=["exchange"],
        parameters=[FillListQuery],
        responses={200: FillPageOut, **_ERRORS},
    )
    def get(self, request: Request, venue: str) -> Response:
        """Your fills on the venue, newest first: paper ones and the live ledger's."""
        venue = _venue(venue)
        query = _valid(FillListQuery(data=request.query_params))
        account_ids = None
        if query.get("account_id"):
            account_ids = [self.account(request, venue, query).id]
        records = fills_of_owner(
            owner_id=_owner(request),
            venue=venue,
            account_ids=account_ids,
            symbol=_symbol(query["symbol"]) if query.get("symbol") else None,
            client_order_id=query.get("client_order_id"),
            limit=query["limit"],
            offset=query["offset"],
        )
        return Response(
            {
                "results": FillRecordOut(records, many=True).data,
                "limit": query["limit"],
                "offset": query["offset"],
            }
        )


class ReconcileView(_ExchangeView):
    permission_classes = [IsTrader]

    @extend_schema(
        operation_id="exchange_reconcile",
        tags=["exchange"],
        request=AccountChoice,
        responses={200: ReconcileReportOut, **_ERRORS},
    )
    def post(self, request: Request, venue: str) -> Response:
        """Look up your account's unresolved and working live orders on the venue now, and
        record what the venue says (a paper account has nothing to reconcile)."""
        venue = _venue(venue)
        account = self.account(request, venue, _valid(AccountChoice(data=request.data)))
        if account.kind == "paper":
            return Response(ReconcileReportOut(ReconcileReport()).data)
        # Asked for by the owner: every working order is checked, however recently heard of.
        settings = replace(ReconcileSettings.from_settings(), recheck=timedelta(0))
        report = reconcile_account(account.id, settings=settings)
        return Response(ReconcileReportOut(report).data)


class CancelView(_ExchangeView):
    permission_classes = [IsTrader]

    @extend_schema(
        operation_id="exchange_order_cancel",
        tags=["exchange"],
        request=CancelBody,
        responses={200: OrderAckOut, **_ERRORS},
    )
    def post(self, request: Request, venue: str) -> Response:
        venue = _venue(venue)
        body = _valid(CancelBody(data=request.data))
        account = self.account(request, venue, body)
        ack = exchange_api().cancel_order(
            account_id=account.id,
            symbol=_symbol_for(account, body.get("symbol")),
            client_order_id=body["client_order_id"],
        )
        return Response(OrderAckOut(ack).data)


class BatchCancelView(_ExchangeView):
    permission_classes = [IsTrader]

    @extend_schema(
        operation_id="exchange_order_batch_cancel",
        tags=["exchange"],
        request=BatchCancelBody,
        responses={200: CancelResultOut, **_ERRORS},
    )
    def post(self, request: Request, venue: str) -> Response:
        venue = _venue(venue)
        body = _valid(BatchCancelBody(data=request.data))
        account = self.account(request, venue, body)
        symbol = _symbol(body["symbol"]) if body.get("symbol") else None
        result = exchange_api().cancel_orders(
            account_id=account.id, symbol=symbol, client_order_ids=body.get("client_order_ids")
        )
        return Response(CancelResultOut(result).data)


class BalanceView(_ExchangeView):
    @extend_schema(
        operation_id="exchange_balance",
        tags=["exchange"],
        parameters=[_ACCOUNT],
        responses={200: BalancesOut, **_ERRORS},
    )
    def get(self, request: Request, venue: str) -> Response:
        venue = _venue(venue)
        account = self.account(request, venue, _valid(AccountChoice(data=request.query_params)))
        balances = exchange_api().balances(account_id=account.id)
        return Response(BalancesOut(balances).data)


class AccountView(_ExchangeView):
    @extend_schema(
        operation_id="exchange_account",
        tags=["exchange"],
        parameters=[_ACCOUNT],
        responses={200: AccountDetailOut, **_ERRORS},
    )
    def get(self, request: Request, venue: str) -> Response:
        venue = _venue(venue)
        account = self.account(request, venue, _valid(AccountChoice(data=request.query_params)))
        balances = exchange_api().balances(account_id=account.id)
        return Response(AccountDetailOut({"account": account, "balances": balances}).data)


class MarketListView(_ExchangeView):
    @extend_schema(
        operation_id="exchange_markets",
        tags=["exchange"],
        parameters=[MarketListQuery],
        responses={200: MarketOut(many=True), **_ERRORS},
    )
    def get(self, request: Request, venue: str) -> Response:
        """The venue's markets with their rules (lot size, tick, minimums, fees), by symbol."""
        query = _valid(MarketListQuery(data=request.query_params))
        markets = exchange_api().markets(venue=_venue(venue))
        quote = query.get("quote", "").upper()
        chosen = [
            market
            for market in markets
            if (not quote or market.quote == quote) and (market.active or not query["active"])
        ]
        return Response(MarketOut(sorted(chosen, key=lambda m: m.symbol), many=True).data)


class TickerView(_ExchangeView):
    @extend_schema(
        operation_id="exchange_ticker", tags=["exchange"], responses={200: TickerOut, **_ERRORS}
    )
    def get(self, request: Request, venue: str, symbol: str) -> Response:
        ticker = exchange_api().ticker(venue=_venue(venue), symbol=_symbol(symbol))
        return Response(TickerOut(ticker).data)


class OrderBookView(_ExchangeView):
    @extend_schema(
        operation_id="exchange_orderbook",
        tags=["exchange"],
        parameters=[_DEPTH],
        responses={200: OrderBookOut, **_ERRORS},
    )
    def get(self, request: Request, venue: str, symbol: str) -> Response:
        venue = _venue(venue)
        depth_text = request.query_params.get("depth")
        try:
            depth = int(depth_text) if depth_text not in (None, "") else None
        except ValueError:
            raise InvalidInput("depth must be an integer", details={"field": "depth"}) from None
        book = exchange_api().order_book(venue=venue, symbol=_symbol(symbol), depth=depth)
        return Response(OrderBookOut(book).data)


class TradeListView(_ExchangeView):
    @extend_schema(
        operation_id="exchange_trades",
        tags=["exchange"],
        parameters=[_TRADES_LIMIT],
        responses={200: PublicTradeOut(many=True), **_ERRORS},
    )
    def get(self, request: Request, venue: str, symbol: str) -> Response:
        """The market's latest public trades, oldest first (paper: its fills, anonymous)."""
        venue = _venue(venue)
        limit_text = request.query_params.get("limit")
        try:
            limit = int(limit_text) if limit_text not in (None, "") else None
        except ValueError:
            raise InvalidInput("limit must be an integer", details={"field": "limit"}) from None
        trades = exchange_api().trades(venue=venue, symbol=_symbol(symbol), limit=limit)
        return Response(PublicTradeOut(trades, many=True).data)


class VenueStatusView(_ExchangeView):
    @extend_schema(
        operation_id="exchange_venue_status",
        tags=["exchange"],
        responses={200: VenueStatusOut, **_ERRORS},
    )
    def get(self, request: Request, venue: str) -> Response:
        return Response(VenueStatusOut(exchange_api().venue_status(venue=_venue(venue))).data)


class HealthView(_ExchangeView):
    @extend_schema(operation_id="exchange_health", tags=["exchange"], responses={200: HealthOut})
    def get(self, request: Request) -> Response:
        api = exchange_api()
        statuses = [api.venue_status(venue=venue.value) for venue in Venue]
        return Response(HealthOut({"venues": statuses}).data)


class AccountListView(_ExchangeView):
    @extend_schema(
        operation_id="exchange_accounts",
        tags=["exchange"],
        parameters=[OpenApiParameter("venue", str, description="Only this venue's accounts.")],
        responses={200: AccountOut(many=True)},
    )
    def get(self, request: Request) -> Response:
        venue = request.query_params.get("venue")
        refs = accounts_of(owner_id=_owner(request), venue=_venue(venue) if venue else None)
        return Response([_account_json(ref) for ref in refs])


class PaperAccountCreateView(_ExchangeView):
    def get_permissions(self) -> list[BasePermission]:
        return [IsTrader()] if self.request.method == "POST" else [AnyRole()]

    @extend_schema(
        operation_id="exchange_paper_accounts",
        tags=["exchange"],
        responses={200: AccountOut(many=True)},
    )
    def get(self, request: Request) -> Response:
        refs = accounts_of(owner_id=_owner(request))
        return Response([_account_json(ref) for ref in refs if ref.kind == "paper"])

    @extend_schema(
        operation_id="exchange_paper_account_create",
        tags=["exchange"],
        request=PaperAccountBody,
        responses={201: AccountOut, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = _valid(PaperAccountBody(data=request.data))
        defaults = PaperConfig()
        config = PaperConfig(
            maker_fee=body.get("maker_fee", defaults.maker_fee),
            taker_fee=body.get("taker_fee", defaults.taker_fee),
            latency=timedelta(milliseconds=body.get("latency_ms", 0)),
            slippage_bps=body.get("slippage_bps", defaults.slippage_bps),
        )
        ref = paper_account_open(
            owner_id=_owner(request),
            name=body["name"],
            balances={asset.upper(): amount for asset, amount in body["balances"].items()},
            venue=_venue(body["venue"]),
            config=config,
            make_default=body["default"],
        )
        return Response(_account_json(ref), status=201)


class LiveAccountCreateView(_ExchangeView):
    permission_classes = [IsTrader]

    @extend_schema(
        operation_id="exchange_live_account_create",
        tags=["exchange"],
        request=LiveAccountBody,
        responses={201: AccountOut, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = _valid(LiveAccountBody(data=request.data))
        ref = live_account_create(
            owner_id=_owner(request),
            venue=body["venue"],
            name=body["name"],
            secret_key=body["secret_key"],
            make_default=body["default"],
        )
        return Response(_account_json(ref), status=201)


class AccountDefaultView(_ExchangeView):
    permission_classes = [IsTrader]

    @extend_schema(
        operation_id="exchange_account_make_default",
        tags=["exchange"],
        request=DefaultAccountBody,
        responses={200: AccountOut, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        """Make one of your accounts your default on its venue."""
        body = _valid(DefaultAccountBody(data=request.data))
        ref = account_set_default(owner_id=_owner(request), account_id=body["account_id"])
        return Response(_account_json(ref))
