"""The exchange domain's REST endpoints under ``/api/v1/exchange/`` (DRF)."""
