"""``publish``: durable events into the outbox, transient events onto the fast path."""

import logging
from functools import partial

from django.db import transaction

from dsta.kernel.bus import metrics, outbox, relay
from dsta.kernel.bus.conf import bus_settings
from dsta.kernel.bus.event import Event
from dsta.kernel.bus.transports import get_transport

logger = logging.getLogger(__name__)


def publish(event: Event) -> None:
    """Publish ``event``.

    Durable: written to the outbox in the caller's transaction (or autocommitted outside
    one); nothing is sent unless that transaction commits. After the commit the event is
    delivered at once (``BUS_DELIVER_ON_COMMIT``, default on) or by ``run_relay``.

    Transient (``durable = False``): sent now on the transport's fast path, whatever the
    transaction does, at most once; a transport failure drops it (logged and counted).
    """
    event_type = type(event)
    if not isinstance(event, Event) or not event_type.is_concrete():
        raise TypeError(f"publish() needs a concrete Event, got {event_type.__qualname__}")
    if event.durable:
        outbox.write(event)
        deliver = bus_settings().deliver_on_commit
        transaction.on_commit(partial(_committed, event, deliver), robust=True)
        return
    metrics.inc(metrics.published, event.name, "transient")
    try:
        get_transport().send_transient(event)
    except Exception:
        metrics.inc(metrics.transient_dropped, event.name)
        logger.warning("bus transient event dropped", extra={"event": event.name}, exc_info=True)


def _committed(event: Event, deliver: bool) -> None:
    metrics.inc(metrics.published, event.name, "durable")
    if deliver:
        relay.kick([event.id])
