"""``manage.py run_scheduler``: the periodic-job loop (safe to run several: one acts)."""

import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dsta.kernel.jobs.registry import autodiscover_tasks
from dsta.kernel.jobs.scheduler import Scheduler, registered_schedules
from dsta.kernel.jobs.shutdown import install_stop_handlers


class Command(BaseCommand):
    help = (
        "Fire periodic runs (schedule()/@periodic) when due. Any number may run: a database "
        "lease lets one act at a time and each due run fires once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between ticks (default 1)"
        )
        parser.add_argument("--once", action="store_true", help="tick once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        autodiscover_tasks()
        scheduler = Scheduler()
        for entry in registered_schedules():
            self.stdout.write(f"schedule {entry.name}: {entry.cron} -> {entry.actor.actor_name}")
        if options["once"]:
            fired = scheduler.tick()
            scheduler.lease.release(scheduler.clock())
            self.stdout.write(f"fired {len(fired)} run(s)")
            return
        stop = threading.Event()
        install_stop_handlers(stop)
        scheduler.run_forever(stop, interval=options["interval"])
