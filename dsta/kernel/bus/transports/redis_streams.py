"""Redis streams: one stream per event name, one consumer group per subscriber.

Keys (``ns`` = ``DSTA_NAMESPACE``):
- ``{ns}:bus:{event name}``: the stream the relay XADDs to (trimmed to ~``BUS_REDIS_MAXLEN``);
- group ``{subscriber}`` on each stream the subscriber listens to, created at ``$`` (a new
  subscriber starts with the events published after its first ``setup``);
- ``{ns}:bus:dead``: dead letters (subscriber, stream, entry id, envelope, error);
- channel ``{ns}:bus:transient:{event name}``: pub/sub fast path for transient events.

A consumer acknowledges (XACK) after the handler's transaction committed. A failed handler
leaves its entry pending; entries pending longer than ``BUS_REDIS_CLAIM_IDLE_SECONDS`` (a
failure, or a consumer that crashed) are taken over with XAUTOCLAIM and run again, so the
retry interval on Redis is that idle time, and the delivery count is the attempt number.
"""

import time
from collections.abc import Sequence
from typing import Any

import redis

from dsta.kernel.bus.conf import BusSettings
from dsta.kernel.bus.envelope import Envelope
from dsta.kernel.bus.event import Event
from dsta.kernel.bus.outbox import Claimed
from dsta.kernel.bus.registry import Subscription
from dsta.kernel.bus.transports.base import (
    BrokerConsumer,
    Delivery,
    DeliveryReport,
    TransientListener,
    describe_error,
)

FIELD = "envelope"


def stream_key(namespace: str, event_name: str) -> str:
    return f"{namespace}:bus:{event_name}"


def dead_letter_key(namespace: str) -> str:
    return f"{namespace}:bus:dead"


def transient_channel(namespace: str, event_name: str) -> str:
    return f"{namespace}:bus:transient:{event_name}"


class RedisStreamsTransport:
    kind = "redis"

    def __init__(self, conf: BusSettings) -> None:
        self.conf = conf
        self.client = redis.Redis.from_url(conf.url, decode_responses=True)

    def deliver(self, rows: Sequence[Claimed]) -> DeliveryReport:
        report = DeliveryReport()
        pipe = self.client.pipeline(transaction=False)
        for row in rows:
            pipe.xadd(
                stream_key(self.conf.namespace, row.envelope.name),
                {FIELD: row.envelope.to_json()},
                maxlen=self.conf.redis_maxlen,
                approximate=True,
            )
        try:
            results = pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            report.failed = [(row, describe_error(exc)) for row in rows]
            return report
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, Exception):
                report.failed.append((row, describe_error(result)))
            else:
                report.delivered.append(row)
        return report

    def send_transient(self, event: Event) -> None:
        envelope = Envelope.from_event(event)
        self.client.publish(transient_channel(self.conf.namespace, event.name), envelope.to_json())

    def consumer(
        self, *, subscriber: str, subscriptions: Sequence[Subscription], consumer_name: str
    ) -> "RedisStreamConsumer":
        return RedisStreamConsumer(
            client=self.client,
            conf=self.conf,
            subscriber=subscriber,
            subscriptions=subscriptions,
            consumer_name=consumer_name,
        )

    def transient_listener(self, subscriptions: Sequence[Subscription]) -> "RedisTransientListener":
        return RedisTransientListener(self.client, self.conf, subscriptions)

    def close(self) -> None:
        self.client.close()


class RedisStreamConsumer(BrokerConsumer):
    def __init__(
        self,
        *,
        client: "redis.Redis[str]",
        conf: BusSettings,
        subscriber: str,
        subscriptions: Sequence[Subscription],
        consumer_name: str,
    ) -> None:
        super().__init__(conf=conf, subscriber=subscriber, subscriptions=subscriptions)
        self.client = client
        self.consumer_name = consumer_name
        self.streams = [stream_key(conf.namespace, name) for name in sorted(self.by_name)]
        self._claim_idle_ms = int(conf.redis_claim_idle_seconds * 1000)
        self._next_reclaim = 0.0

    def setup(self) -> None:
        for stream in self.streams:
            try:
                self.client.xgroup_create(stream, self.subscriber, id="$", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def fetch(self, *, max_count: int, timeout: float) -> list[Delivery]:
        if not self.streams:
            time.sleep(timeout)
            return []
        reclaimed = self._reclaim(max_count)
        if reclaimed:
            return reclaimed
        block_ms = int(timeout * 1000)
        response = self.client.xreadgroup(
            self.subscriber,
            self.consumer_name,
            dict.fromkeys(self.streams, ">"),
            count=max_count,
            block=block_ms if block_ms > 0 else None,  # 0 would mean "forever" to Redis
        )
        deliveries = [
            self._delivery(stream, entry, fields, attempt=1)
            for stream, entries in response or []
            for entry, fields in entries
        ]
        return [delivery for delivery in deliveries if delivery is not None]

    def ack(self, delivery: Delivery) -> None:
        stream, entry = delivery.handle
        self.client.xack(stream, self.subscriber, entry)

    def retry_later(self, delivery: Delivery, error: str) -> None:
        """Leave the entry pending: XAUTOCLAIM hands it out again after the claim idle time."""

    def dead_letter(self, delivery: Delivery, error: str) -> None:
        stream, entry = delivery.handle
        self._park(stream, entry, delivery.envelope.to_json(), delivery.attempt, error)

    def close(self) -> None:
        """The client belongs to the transport; nothing of the consumer's own to release."""

    def _reclaim(self, max_count: int) -> list[Delivery]:
        """Take over entries pending longer than the claim idle time (failures, crashes)."""
        now = time.monotonic()
        if now < self._next_reclaim:
            return []
        # Checking is cheap but not free: at most twice per idle period.
        self._next_reclaim = now + self.conf.redis_claim_idle_seconds / 2
        deliveries: list[Delivery] = []
        for stream in self.streams:
            response: Any = self.client.xautoclaim(
                stream,
                self.subscriber,
                self.consumer_name,
                min_idle_time=self._claim_idle_ms,
                count=max_count - len(deliveries),
            )
            for entry, fields in response[1]:
                if fields is None:
                    continue  # trimmed away while pending
                attempt = self._times_delivered(stream, entry)
                delivery = self._delivery(stream, entry, fields, attempt=attempt)
                if delivery is not None:
                    deliveries.append(delivery)
            if len(deliveries) >= max_count:
                break
        return deliveries

    def _delivery(
        self, stream: str, entry: str, fields: dict[str, str], *, attempt: int
    ) -> Delivery | None:
        try:
            envelope = Envelope.from_json(fields[FIELD])
        except (ValueError, KeyError, TypeError) as exc:
            # Unreadable: no handler can ever take it, so park it at once.
            self._park(stream, entry, str(fields), attempt, describe_error(exc))
            return None
        return Delivery(envelope=envelope, attempt=attempt, handle=(stream, entry))

    def _park(self, stream: str, entry: str, raw: str, attempt: int, error: str) -> None:
        """Move an entry to the dead-letter stream and acknowledge it, atomically."""
        pipe = self.client.pipeline(transaction=True)
        pipe.xadd(
            dead_letter_key(self.conf.namespace),
            {
                "subscriber": self.subscriber,
                "stream": stream,
                "entry_id": entry,
                "attempts": str(attempt),
                FIELD: raw,
                "error": error[-4000:],
            },
            maxlen=self.conf.redis_maxlen,
            approximate=True,
        )
        pipe.xack(stream, self.subscriber, entry)
        pipe.execute()

    def _times_delivered(self, stream: str, entry: str) -> int:
        pending = self.client.xpending_range(stream, self.subscriber, entry, entry, 1)
        return int(pending[0]["times_delivered"]) if pending else 1


class RedisTransientListener(TransientListener):
    def __init__(
        self, client: "redis.Redis[str]", conf: BusSettings, subscriptions: Sequence[Subscription]
    ) -> None:
        super().__init__(subscriptions)
        self.pubsub = client.pubsub()
        channels = {transient_channel(conf.namespace, s.event_name) for s in self.subscriptions}
        if channels:
            self.pubsub.subscribe(*sorted(channels))
            self._await_subscribed(len(channels))
        self.pubsub.ignore_subscribe_messages = True

    def _await_subscribed(self, count: int, timeout: float = 5.0) -> None:
        """Wait for Redis to confirm each channel, so no event published after us is missed."""
        deadline = time.monotonic() + timeout
        confirmed = 0
        while confirmed < count and time.monotonic() < deadline:
            message = self.pubsub.get_message(timeout=deadline - time.monotonic())
            if message is not None and message.get("type") == "subscribe":
                confirmed += 1
        if confirmed < count:
            raise TimeoutError("Redis did not confirm the transient channel subscriptions")

    def poll_once(self, *, timeout: float) -> int:
        if not self.subscriptions:
            time.sleep(timeout)
            return 0
        message = self.pubsub.get_message(timeout=timeout)
        if message is None or message.get("type") != "message":
            return 0
        self.handle(message["data"])
        return 1

    def close(self) -> None:
        self.pubsub.close()
