"""dramatiq middleware of our own: database hygiene, queue namespacing, actor conventions."""

import logging
from typing import Any

import dramatiq
from django.db import close_old_connections, connections
from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)


class DbConnections(Middleware):
    """Give each message fresh-enough database connections and close them when a worker
    thread stops, the way Django does around a request.

    Without it a worker thread keeps a connection the server already dropped, and a test
    database cannot be dropped while stopped worker threads still hold connections.
    """

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        close_old_connections()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        close_old_connections()

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        close_old_connections()

    def before_worker_thread_shutdown(self, broker: dramatiq.Broker, thread: Any) -> None:
        connections.close_all()


class NamespaceQueues(Middleware):
    """Prefix every actor's queue with the deployment namespace (``dsta.default``).

    RabbitMQ has no key prefix of its own; renaming the queue while the actor is declared
    (before the broker sees the queue) prefixes both what is sent and what is consumed.
    """

    def __init__(self, namespace: str) -> None:
        self.prefix = f"{namespace}."

    def before_declare_actor(self, broker: dramatiq.Broker, actor: dramatiq.Actor) -> None:
        if not actor.queue_name.startswith(self.prefix):
            actor.queue_name = self.prefix + actor.queue_name


class ActorConventions(Middleware):
    """Warn about an actor that does not state ``max_retries`` and ``time_limit``.

    dramatiq's defaults (20 retries, 10 minutes) are wrong for most of our work: an order
    placement must never be retried, a training run needs hours.
    """

    def after_declare_actor(self, broker: dramatiq.Broker, actor: dramatiq.Actor) -> None:
        missing = [name for name in ("max_retries", "time_limit") if name not in actor.options]
        if missing:
            logger.warning(
                "actor %s does not state %s (house convention: every actor states both)",
                actor.actor_name,
                " and ".join(missing),
            )
