"""Create the local administrator on first start of the embedded mode.

The password is generated, printed once and kept in ``var/admin_password`` (mode 0600), so a
fresh checkout can log in to the dashboard and admin without an interactive prompt.
"""

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Create an 'admin' superuser with a generated password if no superuser exists."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("refusing to create a generated admin in production")
        user_model = get_user_model()
        password_file = Path(settings.VAR_DIR) / "admin_password"
        if user_model.objects.filter(is_superuser=True).exists():
            if password_file.exists():
                self.stdout.write(f"admin login: {username} / see {password_file}")
            return
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email="", password=password)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        self.stdout.write(
            self.style.SUCCESS(
                f"created admin login: {username} / {password} (kept in {password_file})"
            )
        )
