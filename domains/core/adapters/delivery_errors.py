"""How a channel adapter says a delivery failed: worth retrying, or not."""


class DeliveryError(Exception):
    """A failed delivery. ``str()`` is stored in the delivery log: it never holds a secret."""


class TransientDeliveryError(DeliveryError):
    """The peer may accept a later attempt: a timeout, a refused connection, HTTP 5xx/429,
    an SMTP 4xx. ``retry_after`` is the peer's own hint in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: HTTP 4xx, an SMTP 5xx, a destination that is not configured."""
