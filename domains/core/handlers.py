"""The core domain's handlers: of events (the config watch fan-out) and of Django signals."""

import logging
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from domains.core.api import declared_config_keys
from domains.core.events import ConfigChanged
from domains.core.models import ConfigKey
from domains.core.services.keys import config_keys_sync
from domains.core.services.watch import config_watch_broadcast

logger = logging.getLogger(__name__)

# Subscriber names are stable ids: the bus keys its inbox (dedupe) on them.
CONFIG_WATCH_SUBSCRIBER = "core.config_watch"


def on_config_changed_push_to_watchers(event: ConfigChanged) -> None:
    """Push every committed configuration change to the WebSocket watchers."""
    config_watch_broadcast(event)


def sync_declared_keys_after_migrate(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """post_migrate receiver: store every key the domains declared in code.

    Skips quietly when the config tables do not exist yet (a partial ``migrate core 0000``),
    so migrations never fail because of it.
    """
    if using != DEFAULT_DB_ALIAS:
        return
    if ConfigKey._meta.db_table not in connections[using].introspection.table_names():
        return
    results = config_keys_sync(definitions=declared_config_keys())
    created = [result.key for result in results if result.created]
    if created:
        logger.info("config keys created: %s", ", ".join(created))
