"""ccxt's unified structures (dicts of floats) turned into the api's DTOs (Decimals).

Floats from ccxt go through ``str`` (their shortest repr) so ``0.1`` stays ``Decimal("0.1")``.
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import ccxt

from domains.exchange.api import (
    AccountBalances,
    Balance,
    BookLevel,
    Candle,
    Fill,
    Liquidity,
    MarketInfo,
    MarketType,
    OrderAck,
    OrderBook,
    OrderSide,
    OrderStatus,
    OrderType,
    PrecisionMode,
    PublicTrade,
    Ticker,
    TimeInForce,
)

_PRECISION_MODES = {
    ccxt.TICK_SIZE: PrecisionMode.TICK_SIZE,
    ccxt.DECIMAL_PLACES: PrecisionMode.DECIMAL_PLACES,
}


def dec(value: Any) -> Decimal | None:
    """A ccxt number (float, int, numeric string or None) as a Decimal."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def dec0(value: Any) -> Decimal:
    return dec(value) or Decimal(0)


def when(ms: Any, fallback: Callable[[], datetime]) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, UTC) if ms is not None else fallback()


def market_info(venue: str, market: Mapping[str, Any], precision_mode: int) -> MarketInfo | None:
    """Our MarketInfo for a ccxt market; None for kinds we do not trade (e.g. margin-only)."""
    try:
        market_type = MarketType(str(market.get("type")))
    except ValueError:
        return None
    mode = _PRECISION_MODES.get(precision_mode)
    if mode is None:
        raise ValueError(f"{venue}: ccxt precision mode {precision_mode} is not supported")
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    amount_limits = limits.get("amount") or {}
    price_limits = limits.get("price") or {}
    cost_limits = limits.get("cost") or {}
    return MarketInfo(
        venue=venue,
        symbol=market["symbol"],
        venue_symbol=str(market["id"]),
        base=market["base"],
        quote=market["quote"],
        market_type=market_type,
        active=market.get("active") is not False,
        precision_mode=mode,
        amount_precision=dec0(precision.get("amount")),
        price_precision=dec0(precision.get("price")),
        min_amount=dec(amount_limits.get("min")),
        max_amount=dec(amount_limits.get("max")),
        min_price=dec(price_limits.get("min")),
        max_price=dec(price_limits.get("max")),
        min_notional=dec(cost_limits.get("min")),
        max_notional=dec(cost_limits.get("max")),
        maker_fee=dec(market.get("maker")),
        taker_fee=dec(market.get("taker")),
    )


def ticker(venue: str, raw: Mapping[str, Any], now: Callable[[], datetime]) -> Ticker:
    return Ticker(
        venue=venue,
        symbol=raw["symbol"],
        timestamp=when(raw.get("timestamp"), now),
        bid=dec(raw.get("bid")),
        ask=dec(raw.get("ask")),
        last=dec(raw.get("last")),
        bid_amount=dec(raw.get("bidVolume")),
        ask_amount=dec(raw.get("askVolume")),
        high=dec(raw.get("high")),
        low=dec(raw.get("low")),
        base_volume=dec(raw.get("baseVolume")),
        quote_volume=dec(raw.get("quoteVolume")),
    )


def order_book(
    venue: str, symbol: str, raw: Mapping[str, Any], now: Callable[[], datetime]
) -> OrderBook:
    def levels(side: list[list[Any]]) -> tuple[BookLevel, ...]:
        return tuple(BookLevel(dec0(level[0]), dec0(level[1])) for level in side)

    nonce = raw.get("nonce")
    return OrderBook(
        venue=venue,
        symbol=raw.get("symbol") or symbol,
        timestamp=when(raw.get("timestamp"), now),
        bids=levels(raw.get("bids") or []),
        asks=levels(raw.get("asks") or []),
        sequence=int(nonce) if nonce is not None else None,
    )


def candles(rows: list[list[Any]]) -> list[Candle]:
    return [
        Candle(
            open_time=datetime.fromtimestamp(row[0] / 1000, UTC),
            open=float(row[1]),
            high=float(row[2]),
            low=float(row[3]),
            close=float(row[4]),
            volume=float(row[5] or 0),
        )
        for row in rows
    ]


def public_trade(venue: str, raw: Mapping[str, Any], now: Callable[[], datetime]) -> PublicTrade:
    """A ccxt public trade (``fetch_trades``); ``side`` is the aggressor's, as ccxt unifies it
    (Binance: the buyer was not the maker, ``m: false``; HTX: ``direction``)."""
    side = raw.get("side")
    return PublicTrade(
        venue=venue,
        symbol=raw["symbol"],
        trade_id=str(raw["id"]),
        price=dec0(raw.get("price")),
        amount=dec0(raw.get("amount")),
        side=OrderSide(side) if side in ("buy", "sell") else None,
        timestamp=when(raw.get("timestamp"), now),
    )


def balances(
    account_id: UUID, venue: str, raw: Mapping[str, Any], now: Callable[[], datetime]
) -> AccountBalances:
    free, used = raw.get("free") or {}, raw.get("used") or {}
    assets = sorted(set(free) | set(used))
    rows = tuple(
        Balance(asset=asset, free=dec0(free.get(asset)), locked=dec0(used.get(asset)))
        for asset in assets
        if dec0(free.get(asset)) or dec0(used.get(asset))
    )
    return AccountBalances(
        account_id=account_id, venue=venue, timestamp=when(raw.get("timestamp"), now), balances=rows
    )


def _status(raw: Mapping[str, Any], filled: Decimal) -> OrderStatus:
    status = raw.get("status")
    if status == "open":
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    return {
        "closed": OrderStatus.FILLED,
        "canceled": OrderStatus.CANCELED,
        "cancelled": OrderStatus.CANCELED,
        "expired": OrderStatus.EXPIRED,
        "rejected": OrderStatus.REJECTED,
    }.get(str(status), OrderStatus.OPEN)


def _fee(raw: Mapping[str, Any]) -> tuple[Decimal, str | None]:
    fees = [f for f in (raw.get("fees") or []) if f and f.get("cost") is not None]
    if not fees and raw.get("fee") and raw["fee"].get("cost") is not None:
        fees = [raw["fee"]]
    if not fees:
        return Decimal(0), None
    currency = fees[0].get("currency")
    # Fees in several currencies (e.g. BNB discounts) cannot be summed: keep the first one's.
    same = [f for f in fees if f.get("currency") == currency]
    return sum((dec0(f["cost"]) for f in same), Decimal(0)), currency


def order_ack(
    *,
    account_id: UUID,
    venue: str,
    raw: Mapping[str, Any],
    client_order_id: str | None,
    now: Callable[[], datetime],
    strip_prefix: str = "",
) -> OrderAck:
    """The OrderAck of a ccxt order; ``client_order_id`` fills in when the venue omits it."""
    amount = dec0(raw.get("amount"))
    filled = dec0(raw.get("filled"))
    trigger = dec(raw.get("triggerPrice") or raw.get("stopPrice"))
    venue_client_id = raw.get("clientOrderId")
    if venue_client_id and strip_prefix and str(venue_client_id).startswith(strip_prefix):
        venue_client_id = str(venue_client_id)[len(strip_prefix) :]
    if raw.get("type") == "market":
        order_type = OrderType.MARKET
    else:
        order_type = OrderType.STOP_LIMIT if trigger else OrderType.LIMIT
    try:
        tif = TimeInForce(raw.get("timeInForce") or "GTC")
    except ValueError:
        tif = TimeInForce.GTC
    fee, fee_currency = _fee(raw)
    created = when(raw.get("timestamp"), now)
    return OrderAck(
        account_id=account_id,
        venue=venue,
        symbol=raw.get("symbol") or "",
        client_order_id=str(venue_client_id or client_order_id or ""),
        venue_order_id=str(raw["id"]) if raw.get("id") is not None else None,
        side=OrderSide(raw.get("side") or "buy"),
        type=order_type,
        status=_status(raw, filled),
        amount=amount,
        filled=filled,
        price=dec(raw.get("price")) if order_type is not OrderType.MARKET else None,
        stop_price=trigger,
        average_price=dec(raw.get("average")),
        fee=fee,
        fee_currency=fee_currency,
        time_in_force=tif,
        post_only=bool(raw.get("postOnly")) or tif is TimeInForce.PO,
        reduce_only=bool(raw.get("reduceOnly")),
        created_at=created,
        updated_at=when(
            raw.get("lastUpdateTimestamp") or raw.get("lastTradeTimestamp"), lambda: created
        ),
    )


def fill(
    *, account_id: UUID, venue: str, raw: Mapping[str, Any], now: Callable[[], datetime]
) -> Fill:
    fee, fee_currency = _fee(raw)
    liquidity = raw.get("takerOrMaker")
    return Fill(
        fill_id=str(raw["id"]),
        account_id=account_id,
        venue=venue,
        symbol=raw["symbol"],
        client_order_id=None,
        venue_order_id=str(raw["order"]) if raw.get("order") is not None else None,
        side=OrderSide(raw["side"]),
        price=dec0(raw.get("price")),
        amount=dec0(raw.get("amount")),
        fee=fee,
        fee_currency=fee_currency,
        liquidity=Liquidity(liquidity) if liquidity in ("maker", "taker") else None,
        timestamp=when(raw.get("timestamp"), now),
    )
