"""Round orders to a market's precision and refuse those under its minimums, before any request.

Conventions follow ccxt (``amount_to_precision``/``price_to_precision``): an amount is
truncated toward zero to the lot size (never buy or sell more than asked), a price is rounded
half-up to the tick. Both precision modes are handled through ``MarketInfo.amount_step`` and
``MarketInfo.price_tick`` (DECIMAL_PLACES ``n`` is the step ``10**-n``).
"""

from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from domains.exchange.api import BelowMinimum, InvalidOrder, MarketInfo, OrderRequest, OrderType


def to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """``value`` as a whole number of ``step``s, rounded with a ``decimal`` rounding mode."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def round_amount(market: MarketInfo, amount: Decimal) -> Decimal:
    """Truncate ``amount`` toward zero to the market's lot size."""
    return to_step(amount, market.amount_step, ROUND_DOWN)


def round_price(market: MarketInfo, price: Decimal) -> Decimal:
    """Round ``price`` half-up to the market's tick (ccxt's ROUND)."""
    return to_step(price, market.price_tick, ROUND_HALF_UP)


def price_floor(market: MarketInfo, price: Decimal) -> Decimal:
    """The highest tick at or below ``price``."""
    return to_step(price, market.price_tick, ROUND_FLOOR)


def price_ceiling(market: MarketInfo, price: Decimal) -> Decimal:
    """The lowest tick at or above ``price``."""
    return to_step(price, market.price_tick, ROUND_CEILING)


def check_limits(market: MarketInfo, *, amount: Decimal, price: Decimal | None) -> None:
    """Raise ``BelowMinimum``/``InvalidOrder`` when a rounded order breaks the market's limits.

    ``price`` is the order's limit price, or for a market order the best estimate the caller
    has (best ask/bid or last); without one the notional limits cannot be checked.
    """
    if amount <= 0 or (market.min_amount is not None and amount < market.min_amount):
        raise BelowMinimum(
            f"amount {amount} is below the minimum of {market.symbol} on {market.venue}",
            details=_limit_details(
                market, "min_amount", market.min_amount or market.amount_step, amount
            ),
        )
    if market.max_amount is not None and amount > market.max_amount:
        raise InvalidOrder(
            f"amount {amount} is above the maximum of {market.symbol} on {market.venue}",
            details=_limit_details(market, "max_amount", market.max_amount, amount),
        )
    if price is None:
        return
    if price <= 0:
        raise InvalidOrder(
            f"price {price} rounds to zero on {market.symbol}",
            details=_limit_details(market, "price_tick", market.price_tick, price),
        )
    if market.min_price is not None and price < market.min_price:
        raise InvalidOrder(
            f"price {price} is below the minimum price of {market.symbol}",
            details=_limit_details(market, "min_price", market.min_price, price),
        )
    if market.max_price is not None and price > market.max_price:
        raise InvalidOrder(
            f"price {price} is above the maximum price of {market.symbol}",
            details=_limit_details(market, "max_price", market.max_price, price),
        )
    notional = amount * price
    if market.min_notional is not None and notional < market.min_notional:
        raise BelowMinimum(
            f"notional {notional} is below the minimum of {market.symbol} on {market.venue}",
            details=_limit_details(market, "min_notional", market.min_notional, notional),
        )
    if market.max_notional is not None and notional > market.max_notional:
        raise InvalidOrder(
            f"notional {notional} is above the maximum of {market.symbol} on {market.venue}",
            details=_limit_details(market, "max_notional", market.max_notional, notional),
        )


def prepare_order(
    market: MarketInfo, request: OrderRequest, *, reference_price: Decimal | None = None
) -> OrderRequest:
    """The request rounded to the market's precision, after checking the market's limits.

    ``reference_price`` prices a market order for the notional check (best ask for a buy, best
    bid for a sell); limit and stop-limit orders are checked at their own price.
    """
    if request.symbol != market.symbol:
        raise InvalidOrder(
            f"order is for {request.symbol}, market is {market.symbol}",
            details={"field": "symbol"},
        )
    amount = round_amount(market, request.amount)
    price = round_price(market, request.price) if request.price is not None else None
    stop_price = round_price(market, request.stop_price) if request.stop_price is not None else None
    if stop_price is not None and stop_price <= 0:
        raise InvalidOrder(
            f"stop_price {request.stop_price} rounds to zero on {market.symbol}",
            details=_limit_details(market, "price_tick", market.price_tick, request.stop_price),
        )
    check_price = price if request.type is not OrderType.MARKET else reference_price
    check_limits(market, amount=amount, price=check_price)
    return replace(request, amount=amount, price=price, stop_price=stop_price)


def _limit_details(
    market: MarketInfo, limit: str, minimum: Decimal | None, value: Decimal | None
) -> dict[str, str | None]:
    return {
        "venue": market.venue,
        "symbol": market.symbol,
        "limit": limit,
        "limit_value": None if minimum is None else str(minimum),
        "value": None if value is None else str(value),
    }
