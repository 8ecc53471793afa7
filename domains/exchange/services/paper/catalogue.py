"""Markets of the built-in ``paper`` venue, with Binance's spot rules for the same symbols.

Accounts on another venue (a paper account mirroring ``binance``) use that venue's markets,
registered with ``paper_market_upsert`` (e.g. from ccxt's market metadata).
"""

from decimal import Decimal

from domains.exchange.api import MarketInfo, MarketType, PrecisionMode, Venue


def _spot(symbol: str, amount_step: str, price_tick: str, min_notional: str) -> MarketInfo:
    base, quote = symbol.split("/")
    return MarketInfo(
        venue=Venue.PAPER.value,
        symbol=symbol,
        venue_symbol=f"{base}{quote}",
        base=base,
        quote=quote,
        market_type=MarketType.SPOT,
        active=True,
        precision_mode=PrecisionMode.TICK_SIZE,
        amount_precision=Decimal(amount_step),
        price_precision=Decimal(price_tick),
        min_amount=Decimal(amount_step),
        min_notional=Decimal(min_notional),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
    )


PAPER_MARKETS: dict[str, MarketInfo] = {
    market.symbol: market
    for market in (
        _spot("BTC/USDT", "0.00001", "0.01", "5"),
        _spot("ETH/USDT", "0.0001", "0.01", "5"),
        _spot("SOL/USDT", "0.001", "0.01", "5"),
        _spot("XRP/USDT", "1", "0.0001", "5"),
        _spot("ETH/BTC", "0.0001", "0.00001", "0.0001"),
        _spot("LTC/BTC", "0.001", "0.000001", "0.0001"),
    )
}
