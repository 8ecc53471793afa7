"""Transport selection: ``settings.BUS_KIND`` (from ``BUS_URL``) picks one implementation.

Instances are kept per thread (pika connections must not cross threads) and per
(kind, url, namespace), so a test that overrides the settings gets its own.
"""

import threading
from typing import cast

from dsta.kernel.bus.conf import BusSettings, bus_settings
from dsta.kernel.bus.transports.base import BrokerTransport, Transport

KINDS = ("inprocess", "redis", "rabbitmq")
_local = threading.local()


def get_transport(conf: BusSettings | None = None) -> Transport:
    """This thread's transport for the current settings."""
    conf = conf or bus_settings()
    key = (conf.kind, conf.url, conf.namespace)
    cache: dict[tuple[str, str, str], Transport] = _local.__dict__.setdefault("transports", {})
    transport = cache.get(key)
    if transport is None:
        transport = cache[key] = _build(conf)
    return transport


def get_broker_transport(conf: BusSettings | None = None) -> BrokerTransport:
    """The transport, which must be a broker (Redis or RabbitMQ) one."""
    transport = get_transport(conf)
    if transport.kind == "inprocess":
        raise ValueError(
            "the in-process bus has no consumers: its relay runs the handlers "
            "(set BUS_URL to redis://... or amqp://... to consume from a broker)"
        )
    return cast(BrokerTransport, transport)


def close_transports() -> None:
    """Close and forget this thread's transports (end of a thread, end of a test)."""
    cache: dict[tuple[str, str, str], Transport] = _local.__dict__.pop("transports", {})
    for transport in cache.values():
        transport.close()


def _build(conf: BusSettings) -> Transport:
    if conf.kind == "inprocess":
        from dsta.kernel.bus.transports.inprocess import InProcessTransport

        return InProcessTransport()
    if conf.kind == "redis":
        from dsta.kernel.bus.transports.redis_streams import RedisStreamsTransport

        return RedisStreamsTransport(conf)
    if conf.kind == "rabbitmq":
        from dsta.kernel.bus.transports.rabbitmq import RabbitMQTransport

        return RabbitMQTransport(conf)
    raise ValueError(f"BUS_KIND must be one of {KINDS}, not {conf.kind!r}")
