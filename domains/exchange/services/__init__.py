"""The exchange domain's implementation of ``ExchangeApi`` and its business rules (private)."""
