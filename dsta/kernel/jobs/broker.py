"""The dramatiq broker, built from settings, and the one way to send after commit.

``BROKER_KIND`` picks the transport: ``redis`` (RedisBroker, keys under DSTA_NAMESPACE),
``rabbitmq`` (RabbitmqBroker, queues named ``<namespace>.<queue>``) or ``inprocess`` (a
StubBroker whose worker threads run inside the server process: the embedded default).
"""

import logging
import threading
from typing import Any

import dramatiq
from django.db import transaction
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from dsta.kernel.jobs import conf
from dsta.kernel.jobs.middleware import ActorConventions, DbConnections, NamespaceQueues

logger = logging.getLogger(__name__)

BROKER_KINDS = ("inprocess", "redis", "rabbitmq")

_lock = threading.Lock()
_configured: dramatiq.Broker | None = None


def _middleware() -> list[Middleware]:
    # dramatiq's defaults plus CurrentMessage (the job wrapper reads the retry count from it)
    # and our database and convention checks.
    return [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(),
        CurrentMessage(),
        DbConnections(),
        ActorConventions(),
    ]


def build_broker(
    kind: str | None = None, *, url: str | None = None, namespace: str | None = None
) -> dramatiq.Broker:
    """A new broker of ``kind`` (default: settings), with our middleware. Not made global."""
    kind = kind or conf.broker_kind()
    url = conf.broker_url() if url is None else url
    namespace = namespace or conf.namespace()
    middleware = _middleware()
    if kind == "inprocess":
        return StubBroker(middleware=middleware)
    if kind == "redis":
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url or None, namespace=namespace, middleware=middleware)
    if kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        middleware.append(NamespaceQueues(namespace))
        # Publisher confirms: a send that RabbitMQ did not take raises instead of vanishing.
        return RabbitmqBroker(url=url or None, middleware=middleware, confirm_delivery=True)
    raise ValueError(f"unknown BROKER_KIND {kind!r}; expected one of {', '.join(BROKER_KINDS)}")


def configure_broker(*, force: bool = False) -> dramatiq.Broker:
    """Build the broker from settings and make it dramatiq's global broker (once).

    Called from ``JobsConfig.ready()``, i.e. before any ``tasks.py`` declares an actor.
    """
    global _configured
    with _lock:
        if _configured is None or force:
            _configured = build_broker()
            dramatiq.set_broker(_configured)
            logger.debug("dramatiq broker configured: %s", type(_configured).__name__)
        return _configured


def get_broker() -> dramatiq.Broker:
    """The configured broker (configuring it now if Django's ready() has not run yet)."""
    return _configured if _configured is not None else configure_broker()


def is_inprocess(broker: dramatiq.Broker | None = None) -> bool:
    """True when messages live in this process's memory (the embedded mode)."""
    return isinstance(broker or get_broker(), StubBroker)


def enqueue_on_commit(actor: dramatiq.Actor[Any, Any], /, **kwargs: Any) -> None:
    """Send ``actor`` a message with ``kwargs`` once the current transaction commits.

    Outside a transaction it is sent at once; when the transaction rolls back nothing is
    sent. This is the only way our code should enqueue: a worker must never pick up a
    message about rows it cannot see yet.
    """
    transaction.on_commit(lambda: actor.send(**kwargs))
