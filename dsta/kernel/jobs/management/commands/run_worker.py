"""``manage.py run_worker``: a dramatiq worker for the Redis or RabbitMQ broker."""

import threading
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dsta.kernel.jobs import conf
from dsta.kernel.jobs.broker import get_broker, is_inprocess
from dsta.kernel.jobs.orphans import recover_orphans, release_own_jobs
from dsta.kernel.jobs.registry import autodiscover_tasks
from dsta.kernel.jobs.shutdown import install_stop_handlers
from dsta.kernel.jobs.worker import start_worker


class Command(BaseCommand):
    help = (
        "Run a dramatiq worker in this process for the configured broker (BROKER_URL). "
        "Recovers orphaned jobs first; SIGTERM/SIGINT stop it after the running messages."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--threads", type=int, default=None, help="worker threads (DSTA_WORKER_THREADS)"
        )
        parser.add_argument(
            "--queues", nargs="+", default=None, help="only these queues (default: all)"
        )
        parser.add_argument(
            "--shutdown-timeout",
            type=float,
            default=600.0,
            help="seconds running messages get to finish on shutdown",
        )
        parser.add_argument(
            "--no-recover", action="store_true", help="skip orphan recovery at start"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if is_inprocess():
            raise CommandError(
                "BROKER_KIND is inprocess: jobs run inside `manage.py serve`. Set BROKER_URL "
                "(redis://... or amqp://...) to run separate worker processes."
            )
        threads = options["threads"] or conf.worker_threads()
        if threads < 1:
            raise CommandError("--threads must be at least 1")
        autodiscover_tasks()
        if not options["no_recover"]:
            report = recover_orphans()
            self.stdout.write(
                f"orphans: {len(report.failed)} failed, {len(report.resumed)} resumed, "
                f"{len(report.cancelled)} cancelled"
            )
        queues = self._queue_names(options["queues"])
        stop = threading.Event()
        install_stop_handlers(stop)
        broker = get_broker()
        running = start_worker(broker, threads=threads, queues=queues)
        self.stdout.write(f"worker {conf.worker_id()} running with {threads} threads")
        try:
            while not stop.wait(1.0):
                pass
        finally:
            self.stdout.write("stopping worker...")
            running.stop(timeout=timedelta(seconds=options["shutdown_timeout"]))
            release_own_jobs()  # those that outlived the timeout: resumed or failed now
            broker.close()
            self.stdout.write("worker stopped")

    @staticmethod
    def _queue_names(queues: list[str] | None) -> set[str] | None:
        if not queues:
            return None
        if conf.broker_kind() == "rabbitmq":  # queues are namespaced there (NamespaceQueues)
            prefix = f"{conf.namespace()}."
            return {q if q.startswith(prefix) else prefix + q for q in queues}
        return set(queues)
