"""The event catalogue: content, discovery from events modules, and the --check gate."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from dsta.kernel.bus import catalogue, event_types
from dsta.kernel.bus.tests.sample_events import OrderFilled, TickReceived


def test_render_lists_each_event_with_version_delivery_doc_and_schema() -> None:
    text = catalogue.render([TickReceived, OrderFilled])
    assert text.index("## dsta.bustest.order.filled.v1") < text.index(
        "## dsta.bustest.tick.received.v1"
    )
    assert "- Version: 1.2 (major 1, minor 2)" in text
    assert "- Delivery: transient" in text
    assert "- Delivery: durable" in text
    assert "A test fill." in text
    schema = text.split("## dsta.bustest.order.filled.v1")[1].split("```json\n")[1].split("```")[0]
    properties = json.loads(schema)["properties"]
    assert {"id", "occurred_at", "order_id", "quantity"} <= set(properties)
    assert catalogue.render([TickReceived, OrderFilled]) == text  # deterministic


def test_discover_reads_installed_apps_events_modules_only() -> None:
    found = catalogue.discover()
    assert OrderFilled in event_types()
    assert OrderFilled not in found
    assert all(cls.__module__.endswith(".events") or ".events." in cls.__module__ for cls in found)


def test_command_writes_then_checks(tmp_path: Path) -> None:
    output = tmp_path / "events.md"
    call_command("event_catalogue", "--output", str(output))
    assert output.read_text() == catalogue.render(catalogue.discover())
    call_command("event_catalogue", "--output", str(output), "--check")

    output.write_text(output.read_text() + "\nhand edit\n")
    with pytest.raises(SystemExit) as exit_info:
        call_command("event_catalogue", "--output", str(output), "--check")
    assert exit_info.value.code == 1
    with pytest.raises(SystemExit):
        call_command("event_catalogue", "--output", str(tmp_path / "missing.md"), "--check")
