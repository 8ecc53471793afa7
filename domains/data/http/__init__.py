"""Public REST endpoints of the data domain: ``/api/v1/market-data/``."""
