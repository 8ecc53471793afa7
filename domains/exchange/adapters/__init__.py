"""Ways out to the world: venues through ccxt (private to the exchange domain)."""
