"""Resolve live orders whose outcome we do not know, and catch fills we may have missed.

nautilus marks in-flight orders that got no answer and resolves them by query; so do we
(shared/design/EXCHANGES.md). Each run looks at the account's orders that are

- ``submitting`` for longer than ``grace`` (the process died between send and answer),
- ``unknown`` (the placement's lookups could not reach the venue),
- working (open, partially filled, waiting for a trigger) and not heard of for ``recheck``:
  fills may have happened while no stream was connected,
- ended with fills (filled, or cancelled/expired part-way) since it was last looked at, when
  the ledger holds less than the order's ``filled``: its end came from a lookup, a cancel or
  placement answer (a market order filled at once) or a stream whose fill frames were lost,
  so it was never "working" here. Only its fills are asked for (``order_fills``); an ended order
  whose fills are all recorded costs no request,

and asks the venue for each one by its client order id (by the venue's id once known), through
the gateway (so through the venue's rate limits, breaker and retries):

- found: the answer goes to the ledger, then the order's fills (``order_fills``: by the
  venue's order id, with no time window) are recorded, each once;
- "no such order": counted. Only after ``lookups`` such answers *and* once the intent is
  ``min_age`` old is the order declared never to have reached the venue (``rejected``, with
  the reason, and ``OrderUpdated``). Venues lag after a create (Binance's docs warn that an
  order may not show at once, and its -1007 "execution status unknown" answer may still
  execute), so one "not found" proves nothing; a signed create request is only accepted
  within its validity window (Binance: ``recvWindow``, 5 s by default, 60 s at most; Gate:
  60 s of clock skew), so five minutes is well past the time such a request could still land;
- venue unreachable, throttled or its breaker open, credentials refused: the order is left
  for the next run, no lookup counted, and the account's remaining orders wait too.

Two runs at once (a slow run and the next minute's) never work on the same order: each claims
an order (``claimed_until``, a conditional UPDATE, the same on SQLite and PostgreSQL) before
asking the venue, and the claim outlives the actor's time limit. Everything the ledger does is
idempotent besides.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.conf import settings as django_settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from domains.exchange.api import (
    AuthFailed,
    ExchangeApi,
    ExchangeFailure,
    Fill,
    OrderNotFound,
    OrderStatus,
    UnknownAccount,
    VenueRateLimited,
    VenueUnavailable,
    exchange_api,
)
from domains.exchange.models import LiveAccount, LiveFill, LiveOrder, LiveOrderOutcome
from domains.exchange.services.orders import ledger
from domains.exchange.services.orders.metrics import count_result

logger = logging.getLogger(__name__)

Outcome = LiveOrderOutcome
ENDED = tuple(
    status.value for status in OrderStatus if status.value not in ledger.WORKING
)  # filled, canceled, expired, rejected


@dataclass(frozen=True)
class ReconcileSettings:
    """How patient the reconciler is (settings ``EXCHANGE_RECONCILE_*``, see the module
    docstring for why the defaults are what they are)."""

    grace: timedelta = timedelta(seconds=10)  # a "submitting" order younger is in flight
    lookups: int = 3  # "not found" answers before an order is declared never placed ...
    min_age: timedelta = timedelta(minutes=5)  # ... and no sooner than this after the intent
    recheck: timedelta = timedelta(minutes=5)  # a working order unheard of this long is asked
    batch: int = 100  # orders per account and run (a lookup costs request weight)
    claim: timedelta = timedelta(minutes=5)  # longer than the actor's time limit

    def __post_init__(self) -> None:
        if self.lookups < 1 or self.batch < 1:
            raise ValueError("reconciler: lookups and batch must be at least 1")
        if min(self.grace, self.min_age, self.recheck) < timedelta(0) or self.claim <= timedelta(0):
            raise ValueError("reconciler: durations must not be negative")

    @classmethod
    def from_settings(cls) -> "ReconcileSettings":
        def seconds(name: str, default: timedelta) -> timedelta:
            value = getattr(django_settings, name, None)
            return default if value is None else timedelta(seconds=float(value))

        defaults = cls()
        return cls(
            grace=seconds("EXCHANGE_RECONCILE_GRACE_SECONDS", defaults.grace),
            lookups=int(getattr(django_settings, "EXCHANGE_RECONCILE_LOOKUPS", defaults.lookups)),
            min_age=seconds("EXCHANGE_RECONCILE_MIN_AGE_SECONDS", defaults.min_age),
            recheck=seconds("EXCHANGE_RECONCILE_RECHECK_SECONDS", defaults.recheck),
            batch=int(getattr(django_settings, "EXCHANGE_RECONCILE_BATCH", defaults.batch)),
        )


@dataclass(frozen=True)
class ReconciledOrder:
    """What one run did about one order. ``result``: ``resolved`` (an unknown order was
    found), ``updated`` (a working order had changed), ``unchanged``, ``not_found_yet``,
    ``rejected`` (declared never placed), ``missing`` (a known order the venue no longer
    finds by our id), ``error`` (the venue refused the lookup), ``venue_unavailable``."""

    account_id: UUID
    venue: str
    symbol: str
    client_order_id: str
    result: str
    status: str  # after the run ("" while unknown)
    outcome: str
    fills: int = 0  # new fills recorded
    note: str = ""


@dataclass(frozen=True)
class ReconcileReport:
    accounts: int = 0
    orders: tuple[ReconciledOrder, ...] = ()
    venue_failures: int = 0  # accounts left for the next run (venue down, throttled, auth)
    errors: tuple[str, ...] = ()

    def count(self, result: str) -> int:
        return sum(1 for order in self.orders if order.result == result)

    @property
    def checked(self) -> int:
        return len(self.orders)

    @property
    def resolved(self) -> int:
        return self.count("resolved")

    @property
    def updated(self) -> int:
        return self.count("updated")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    @property
    def not_found_yet(self) -> int:
        return self.count("not_found_yet")

    @property
    def fills(self) -> int:
        return sum(order.fills for order in self.orders)

    @property
    def unresolved(self) -> int:
        """Orders still without a verdict after this run."""
        return sum(1 for order in self.orders if order.outcome in ledger.UNRESOLVED)

    def plus(self, other: "ReconcileReport") -> "ReconcileReport":
        return ReconcileReport(
            accounts=self.accounts + other.accounts,
            orders=self.orders + other.orders,
            venue_failures=self.venue_failures + other.venue_failures,
            errors=self.errors + other.errors,
        )

    def summary(self) -> str:
        return (
            f"{self.accounts} account(s), {self.checked} order(s) checked: "
            f"{self.resolved} resolved, {self.updated} updated, "
            f"{self.rejected} declared never placed, {self.not_found_yet} not found yet, "
            f"{self.fills} new fill(s), {self.venue_failures} venue failure(s)"
        )


class _VenueDown(Exception):
    def __init__(self, error: ExchangeFailure) -> None:
        super().__init__(error.message)
        self.error = error


def reconcile_account(
    account_id: UUID,
    *,
    api: ExchangeApi | None = None,
    settings: ReconcileSettings | None = None,
    clock: Callable[[], datetime] = timezone.now,
) -> ReconcileReport:
    """Reconcile the due orders of one live account (see the module docstring)."""
    account = LiveAccount.objects.filter(pk=account_id).first()
    if account is None:
        raise UnknownAccount(
            f"no live account {account_id}", details={"account_id": str(account_id)}
        )
    run = _Run(account, api or exchange_api(), settings or ReconcileSettings.from_settings(), clock)
    return run.go()


def reconcile_all(
    *,
    venue: str | None = None,
    api: ExchangeApi | None = None,
    settings: ReconcileSettings | None = None,
    clock: Callable[[], datetime] = timezone.now,
) -> ReconcileReport:
    """Reconcile every enabled live account (of ``venue``) that has due orders."""
    settings = settings or ReconcileSettings.from_settings()
    api = api or exchange_api()
    due = _due(settings, clock()).filter(account__enabled=True)
    if venue is not None:
        due = due.filter(venue=venue)
    report = ReconcileReport()
    for account_id in sorted(set(due.values_list("account_id", flat=True)), key=str):
        report = report.plus(reconcile_account(account_id, api=api, settings=settings, clock=clock))
    return report


def _due(settings: ReconcileSettings, now: datetime) -> QuerySet[LiveOrder]:
    quiet = now - settings.recheck
    due = (
        Q(outcome=Outcome.UNKNOWN)
        | Q(outcome=Outcome.SUBMITTING, created_at__lte=now - settings.grace)
        | (
            Q(outcome=Outcome.ACKNOWLEDGED, status__in=ledger.WORKING, updated_at__lte=quiet)
            & (Q(last_checked_at=None) | Q(last_checked_at__lte=quiet))
        )
        | _ended_unchecked(settings, now)
    )
    free = Q(claimed_until=None) | Q(claimed_until__lte=now)
    # Rows keyed "~<venue id>" (orders placed elsewhere without a client id) cannot be looked
    # up by client order id.
    return LiveOrder.objects.filter(due, free).exclude(client_order_id__startswith="~")


def _ended_unchecked(settings: ReconcileSettings, now: datetime) -> Q:
    """Ended orders with fills, changed since the reconciler last looked at them (given
    ``grace`` for a stream's fill frames to follow the order's)."""
    return (
        Q(outcome=Outcome.ACKNOWLEDGED, status__in=ENDED, updated_at__lte=now - settings.grace)
        & ~Q(filled=Decimal(0))
        & (Q(last_checked_at=None) | Q(last_checked_at__lt=F("updated_at")))
    )


def _recorded_amount(row: LiveOrder) -> Decimal:
    # Summed here, not in SQL: exact decimals are text on SQLite (fields.py).
    amounts = LiveFill.objects.filter(order=row).values_list("amount", flat=True)
    return sum(amounts, Decimal(0))


class _Run:
    def __init__(
        self,
        account: LiveAccount,
        api: ExchangeApi,
        settings: ReconcileSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self.account = account
        self.api = api
        self.settings = settings
        self.clock = clock
        self.orders: list[ReconciledOrder] = []
        self.errors: list[str] = []

    def go(self) -> ReconcileReport:
        now = self.clock()
        due = _due(self.settings, now).filter(account=self.account)
        # Orders without a verdict first: they matter most.
        unresolved = due.filter(outcome__in=ledger.UNRESOLVED).order_by("created_at")
        working = due.filter(outcome=Outcome.ACKNOWLEDGED).order_by("updated_at")
        ids = list(unresolved.values_list("pk", flat=True)[: self.settings.batch])
        room = self.settings.batch - len(ids)
        if room > 0:
            ids += list(working.values_list("pk", flat=True)[:room])
        room = self.settings.batch - len(ids)
        if room > 0:
            ids += self._ended_missing_fills(due, now, room)
        failed = 0
        for order_id in ids:
            if not self._claim(order_id):
                continue  # another run has it
            try:
                self.orders.append(self._reconcile(order_id))
            except _VenueDown as down:
                row = LiveOrder.objects.get(pk=order_id)
                self.orders.append(self._result(row, "venue_unavailable", note=down.error.code))
                self.errors.append(
                    f"{self.account.venue} ({self.account.pk}): {down.error.code}: "
                    f"{down.error.message}"
                )
                failed = 1
                break  # the venue cannot be asked now: the rest wait for the next run
            finally:
                LiveOrder.objects.filter(pk=order_id).update(claimed_until=None)
        for order in self.orders:
            count_result(order.venue, order.result)
        return ReconcileReport(
            accounts=1, orders=tuple(self.orders), venue_failures=failed, errors=tuple(self.errors)
        )

    def _ended_missing_fills(
        self, due: QuerySet[LiveOrder], now: datetime, room: int
    ) -> list[UUID]:
        """Ended orders whose recorded fills fall short of their ``filled``; the others are
        marked looked at (no request)."""
        ended = due.filter(_ended_unchecked(self.settings, now)).order_by("updated_at")
        missing: list[UUID] = []
        for row in ended[: room * 10]:
            if _recorded_amount(row) >= row.filled:
                LiveOrder.objects.filter(pk=row.pk, updated_at=row.updated_at).update(
                    last_checked_at=now
                )
            elif len(missing) < room:
                missing.append(row.pk)
        return missing

    def _claim(self, order_id: UUID) -> bool:
        """Take the order if it is free and still due: another run may have settled it since
        this one listed it (and released its claim)."""
        now = self.clock()
        due = _due(self.settings, now).filter(pk=order_id)
        return bool(due.update(claimed_until=now + self.settings.claim))

    def _reconcile(self, order_id: UUID) -> ReconciledOrder:
        row = LiveOrder.objects.get(pk=order_id)
        if row.outcome == Outcome.ACKNOWLEDGED and row.status in ENDED:
            # Its state is final: only its fills can be missing.
            fills = self._fills(row)
            self._checked(row)
            return self._result(row, "updated" if fills else "unchanged", fills=fills)
        was_unresolved = row.outcome in ledger.UNRESOLVED
        before = (row.status, row.filled, row.average_price, row.fee, row.venue_order_id)
        try:
            # By the venue's id once we know it: Gate.io finds an order by its client id only
            # while open and about a minute after it ends.
            ack = self.api.get_order(
                account_id=self.account.pk,
                symbol=row.symbol,
                client_order_id=row.client_order_id,
                venue_order_id=row.venue_order_id or None,
            )
        except OrderNotFound:
            return self._not_found(row)
        except (VenueUnavailable, VenueRateLimited, AuthFailed) as error:
            raise _VenueDown(error) from error
        except ExchangeFailure as error:
            self._checked(row)
            self.errors.append(f"{row.client_order_id}: {error.code}: {error.message}")
            return self._result(row, "error", note=error.code)
        # The in-process gateway has merged the answer already; a remote binding has not.
        ledger.record_ack(ack)
        row.refresh_from_db()
        fills = self._fills(row)
        self._checked(row)
        if was_unresolved:
            result = "resolved"
        elif before != (row.status, row.filled, row.average_price, row.fee, row.venue_order_id):
            result = "updated"
        else:
            result = "unchanged"
        return self._result(row, result, fills=fills)

    def _not_found(self, row: LiveOrder) -> ReconciledOrder:
        now = self.clock()
        LiveOrder.objects.filter(pk=row.pk).update(
            lookup_attempts=F("lookup_attempts") + 1, last_checked_at=now
        )
        row.refresh_from_db()
        if row.outcome not in ledger.UNRESOLVED:
            # A known order the venue no longer finds by our id (Gate keeps the id only while
            # the order is open and shortly after): its end comes from a stream or a fill.
            return self._result(row, "missing")
        age = now - row.created_at
        if row.lookup_attempts < self.settings.lookups or age < self.settings.min_age:
            return self._result(
                row, "not_found_yet", note=f"{row.lookup_attempts} lookup(s), {_seconds(age)} old"
            )
        reason = (
            f"never reached {row.venue}: not found by {row.lookup_attempts} lookups over "
            f"{_seconds(age)}"
        )
        ledger.record_not_found(order_id=row.pk, reason=reason)
        row.refresh_from_db()
        if row.outcome != Outcome.NOT_FOUND:  # resolved meanwhile (a stream was faster)
            return self._result(row, "resolved")
        return self._result(row, "rejected", note=reason)

    def _fills(self, row: LiveOrder) -> int:
        """Record the order's fills the ledger lacks; the number of new ones."""
        if row.filled <= 0 or not row.venue_order_id:
            return 0
        if _recorded_amount(row) >= row.filled:
            return 0
        try:
            # By the order's id: no time window (Binance lists trades 24 hours at a time).
            fills = self.api.order_fills(
                account_id=self.account.pk, symbol=row.symbol, venue_order_id=row.venue_order_id
            )
        except (VenueUnavailable, VenueRateLimited, AuthFailed) as error:
            raise _VenueDown(error) from error
        except ExchangeFailure as error:
            self.errors.append(f"{row.client_order_id} fills: {error.code}: {error.message}")
            return 0
        return sum(ledger.record_fill(fill) for fill in _of_order(fills, row))

    def _checked(self, row: LiveOrder) -> None:
        LiveOrder.objects.filter(pk=row.pk).update(last_checked_at=self.clock())

    def _result(
        self, row: LiveOrder, result: str, *, fills: int = 0, note: str = ""
    ) -> ReconciledOrder:
        return ReconciledOrder(
            account_id=row.account_id,
            venue=row.venue,
            symbol=row.symbol,
            client_order_id=row.client_order_id,
            result=result,
            status=row.status,
            outcome=row.outcome,
            fills=fills,
            note=note,
        )


def _of_order(fills: Iterable[Fill], row: LiveOrder) -> Iterable[Fill]:
    """The fills of ``row`` (trade lists carry the venue's order id, seldom our id)."""
    for fill in fills:
        if fill.venue_order_id == row.venue_order_id or (
            fill.client_order_id and fill.client_order_id == row.client_order_id
        ):
            yield replace(fill, client_order_id=fill.client_order_id or row.client_order_id)


def _seconds(age: timedelta) -> str:
    return f"{int(age.total_seconds())} s"
