"""Live orders: the ledger (the one writer of their state and fills) and the reconciler that
resolves orders whose outcome is unknown."""
