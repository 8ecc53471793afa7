"""ConfigChanged is published in the write's transaction: delivered after commit, never
after a rollback."""

from typing import Any

import pytest
from django.db import transaction

from domains.core.api import ConfigValueInvalid
from domains.core.events import ConfigChanged
from domains.core.services.config import ConfigService
from domains.core.tests.conftest import KeyFactory
from dsta.kernel.bus.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)
config = ConfigService()


class BoomError(Exception):
    pass


def mine(events: list[ConfigChanged], key: str) -> list[ConfigChanged]:
    return [event for event in events if event.key == key]


def test_a_committed_write_is_delivered_once_with_its_payload(
    make_key: KeyFactory, config_events: list[ConfigChanged], django_user_model: Any
) -> None:
    key = make_key()
    writer = django_user_model.objects.create_user(username="writer")
    config.set(key=key, value=3, environment="paper", actor_id=writer.pk)
    [event] = mine(config_events, key)
    assert event.name == "dsta.core.config.changed.v1"
    assert (event.key, event.environment, event.version, event.value, event.changed_by) == (
        key,
        "paper",
        1,
        3,
        writer.pk,
    )
    row = OutboxMessage.objects.get(name=ConfigChanged.name, payload__key=key)
    assert (row.event_id, row.state) == (event.id, OutboxMessage.State.DELIVERED)


def test_nothing_is_delivered_before_the_outer_transaction_commits(
    make_key: KeyFactory, config_events: list[ConfigChanged]
) -> None:
    key = make_key()
    with transaction.atomic():
        config.set(key=key, value=1)
        config.set(key=key, value=2)
        assert mine(config_events, key) == []
    assert [event.version for event in mine(config_events, key)] == [1, 2]


def test_a_rolled_back_write_publishes_nothing(
    make_key: KeyFactory, config_events: list[ConfigChanged]
) -> None:
    key = make_key()

    def write_then_fail() -> None:
        with transaction.atomic():
            config.set(key=key, value=1)
            raise BoomError

    with pytest.raises(BoomError):
        write_then_fail()
    assert mine(config_events, key) == []
    assert config.history(key=key) == []
    assert not OutboxMessage.objects.filter(name=ConfigChanged.name, payload__key=key).exists()


def test_a_refused_write_publishes_nothing(
    make_key: KeyFactory, config_events: list[ConfigChanged]
) -> None:
    key = make_key()
    with pytest.raises(ConfigValueInvalid):
        config.set(key=key, value=-1)
    assert mine(config_events, key) == []
