"""A database lease: at most one holder at a time, taken and renewed by conditional UPDATE.

Works the same on SQLite and PostgreSQL: no advisory locks, no SELECT ... FOR UPDATE. Clocks
of the competing processes must agree to well within the lease's time to live (NTP does).
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When

from dsta.kernel.jobs.models import SchedulerLease


class Lease:
    """The lease ``name`` as seen by ``holder``."""

    def __init__(self, name: str, *, holder: str, ttl: timedelta) -> None:
        self.name = name
        self.holder = holder
        self.ttl = ttl

    def acquire(self, now: datetime) -> bool:
        """Take or renew the lease until ``now + ttl``; False while someone else holds it."""
        expires_at = now + self.ttl
        rows = SchedulerLease.objects.filter(name=self.name)
        renewed = rows.filter(Q(holder=self.holder) | Q(expires_at__lte=now)).update(
            holder=self.holder,
            expires_at=expires_at,
            acquired_at=Case(When(holder=self.holder, then=F("acquired_at")), default=Value(now)),
        )
        if renewed:
            return True
        if rows.exists():
            return False
        try:
            with transaction.atomic():
                SchedulerLease.objects.create(
                    name=self.name, holder=self.holder, expires_at=expires_at, acquired_at=now
                )
        except IntegrityError:  # another holder created it first
            return False
        return True

    def release(self, now: datetime) -> None:
        """Give the lease up now (if held), so another instance takes over without waiting."""
        SchedulerLease.objects.filter(name=self.name, holder=self.holder).update(expires_at=now)

    def held(self, now: datetime) -> bool:
        """True while this holder has an unexpired lease (no renewal)."""
        return SchedulerLease.objects.filter(
            name=self.name, holder=self.holder, expires_at__gt=now
        ).exists()
