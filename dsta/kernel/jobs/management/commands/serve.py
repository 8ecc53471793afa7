"""``manage.py serve``: the embedded main process, one command that runs everything.

In order: refuse to start with unapplied migrations (the launcher migrates, not us), recover
orphaned jobs, start the in-process worker (when BROKER_KIND is inprocess), the scheduler
thread, the event-bus relay thread and the domains' background loops (``background.py``: e.g.
the exchange's live account streams), then serve ``dsta.asgi:application`` with uvicorn in
this process. On SIGTERM/SIGINT uvicorn drains its connections, then every thread is stopped.
"""

import importlib
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import uvicorn
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from dsta.kernel.jobs import conf
from dsta.kernel.jobs.background import background_services
from dsta.kernel.jobs.broker import is_inprocess
from dsta.kernel.jobs.orphans import recover_orphans, release_own_jobs
from dsta.kernel.jobs.registry import autodiscover_tasks
from dsta.kernel.jobs.scheduler import Scheduler
from dsta.kernel.jobs.shutdown import install_stop_handlers
from dsta.kernel.jobs.worker import RunningWorker, start_worker

logger = logging.getLogger(__name__)

# The event bus's relay loop, ``run(stop_event)``: delivers the outbox until the event is
# set. Looked up lazily so serve works (and says so) while the bus is absent.
RELAY_CANDIDATES = ("dsta.kernel.bus.relay:run",)


def unapplied_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """``app.migration`` names not applied to the database yet."""
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def _find_relay() -> Callable[[threading.Event], Any] | None:
    for candidate in RELAY_CANDIDATES:
        module_name, _, attr = candidate.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (module_name + ".").startswith(exc.name + "."):
                raise  # the module exists but an import inside it is broken: say so loudly
            continue
        relay = getattr(module, attr, None)
        if callable(relay):
            return relay
    return None


def _start_relay_thread(stop: threading.Event) -> threading.Thread | None:
    """Start the event-bus outbox relay in a thread, if the bus provides one (lazy import)."""
    relay = _find_relay()
    if relay is None:
        logger.warning(
            "no event-bus relay loop found (%s): events stay in the outbox",
            ", ".join(RELAY_CANDIDATES),
        )
        return None
    thread = threading.Thread(target=_closing(relay), args=(stop,), name="dsta-bus-relay")
    thread.start()
    logger.info("event-bus relay started (%s.%s)", relay.__module__, relay.__name__)
    return thread


def _closing(loop: Callable[[threading.Event], Any]) -> Callable[[threading.Event], None]:
    """Run a loop in a thread and close that thread's database connections when it ends."""

    def run(stop: threading.Event) -> None:
        try:
            loop(stop)
        except Exception:
            logger.exception("%s stopped with an error", threading.current_thread().name)
        finally:
            connections.close_all()

    return run


class Command(BaseCommand):
    help = (
        "Run DSTA in one process: HTTP/WebSocket server (uvicorn), in-process job worker, "
        "scheduler and event relay. Apply migrations first (manage.py migrate)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=None, help="in-process worker threads")
        parser.add_argument("--no-scheduler", action="store_true", help="do not run periodic jobs")
        parser.add_argument("--no-relay", action="store_true", help="do not run the event relay")
        parser.add_argument(
            "--no-background",
            action="store_true",
            help="do not run the domains' background loops (e.g. live account streams)",
        )
        parser.add_argument(
            "--shutdown-timeout",
            type=float,
            default=30.0,
            help="seconds running jobs get to finish on shutdown",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pending = unapplied_migrations()
        if pending:
            raise CommandError(
                f"{len(pending)} unapplied migration(s) ({', '.join(pending[:5])}...): "
                "run `manage.py migrate` first"
            )
        autodiscover_tasks()
        report = recover_orphans()
        self.stdout.write(
            f"orphans: {len(report.failed)} failed, {len(report.resumed)} resumed, "
            f"{len(report.cancelled)} cancelled, {len(report.requeued)} re-sent"
        )
        stop = threading.Event()
        worker: RunningWorker | None = None
        threads: list[threading.Thread] = []
        try:
            if is_inprocess():
                worker = start_worker(threads=options["threads"] or conf.worker_threads())
            if not options["no_scheduler"]:
                scheduler = Scheduler()
                thread = threading.Thread(
                    target=scheduler.run_forever, args=(stop,), name="dsta-scheduler"
                )
                thread.start()
                threads.append(thread)
            if not options["no_relay"] and (relay := _start_relay_thread(stop)) is not None:
                threads.append(relay)
            if not options["no_background"]:
                for service in background_services():
                    thread = threading.Thread(
                        target=_closing(service.loop), args=(stop,), name=f"dsta-{service.name}"
                    )
                    thread.start()
                    threads.append(thread)
                    logger.info("background loop started: %s", service.name)
            self._serve(options["host"], options["port"], stop)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=options["shutdown_timeout"])
            if worker is not None:
                worker.stop(timeout=timedelta(seconds=options["shutdown_timeout"]))
                release_own_jobs()
            self.stdout.write("stopped")

    def _serve(self, host: str, port: int, stop: threading.Event) -> None:
        config = uvicorn.Config(
            "dsta.asgi:application",
            host=host,
            port=port,
            workers=1,
            lifespan="off",  # Django's ASGI handler speaks no lifespan protocol
            log_config=None,  # keep Django's LOGGING (JSON lines) for uvicorn's loggers too
        )
        # uvicorn restores the previous handlers on exit and re-raises the signal it caught;
        # ours only sets `stop`, so the threads get their graceful shutdown below.
        install_stop_handlers(stop)
        server = uvicorn.Server(config)
        self.stdout.write(f"serving on http://{host}:{port}/")
        server.run()
