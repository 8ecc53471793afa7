"""The jobs app: configures the dramatiq broker as soon as Django starts."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "dsta.kernel.jobs"
    label = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The broker must be in place before any module declares an actor: dramatiq binds an
        # actor to the global broker at declaration time.
        from dsta.kernel.jobs.broker import configure_broker

        configure_broker()
