"""REST endpoints of the core domain (DRF)."""
