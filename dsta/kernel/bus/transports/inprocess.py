"""The default transport: the relay runs this process's handlers itself.

Each claimed row goes to every local subscriber of its event through the inbox. A
subscriber that fails makes the whole row fail (retried later with backoff), but the
subscribers that succeeded hold receipts, so the retry reaches only the ones that did not.
"""

from collections.abc import Sequence

from dsta.kernel.bus import registry
from dsta.kernel.bus.event import Event
from dsta.kernel.bus.inbox import handle_once
from dsta.kernel.bus.outbox import Claimed
from dsta.kernel.bus.transports.base import DeliveryReport, describe_error, run_transient_handlers


class InProcessTransport:
    kind = "inprocess"

    def deliver(self, rows: Sequence[Claimed]) -> DeliveryReport:
        report = DeliveryReport()
        for row in rows:
            error = self._deliver_row(row)
            if error is None:
                report.delivered.append(row)
            else:
                report.failed.append((row, error))
        return report

    def send_transient(self, event: Event) -> None:
        run_transient_handlers(event, registry.subscriptions_for(event.name))

    def close(self) -> None:
        """Nothing to release."""

    @staticmethod
    def _deliver_row(row: Claimed) -> str | None:
        subscriptions = registry.subscriptions_for(row.envelope.name)
        if not subscriptions:
            return None  # nobody here listens: delivered to no one, by definition
        try:
            event = row.envelope.decode()
        except Exception as exc:
            return describe_error(exc)
        errors = []
        for subscription in subscriptions:
            try:
                handle_once(subscription, event)
            except Exception as exc:
                errors.append(f"[{subscription.subscriber}] {describe_error(exc)}")
        return "\n\n".join(errors) or None
