"""Values are checked against their key's JSON Schema (Draft 2020-12) before they are stored."""

import pytest

from domains.core.api import ConfigValueInvalid, ConfigValueTooLarge
from domains.core.models import ConfigValue
from domains.core.services.validation import check_value, schema_problems, value_problems
from domains.core.services.values import config_value_set
from domains.core.tests.conftest import KeyFactory

LIMITS = {
    "type": "object",
    "properties": {
        "max_position_usd": {"type": "number", "exclusiveMinimum": 0},
        "symbols": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]+/[A-Z]+$"}},
    },
    "required": ["max_position_usd"],
    "additionalProperties": False,
}


def test_schema_problems_name_the_defect() -> None:
    assert schema_problems(LIMITS) == []
    assert schema_problems({"type": "integr"})
    assert schema_problems("not a schema") == ["the schema must be a JSON object"]


def test_value_problems_carry_the_json_path() -> None:
    problems = value_problems(LIMITS, {"max_position_usd": 0, "symbols": ["BTC/USDT", "eth"]})
    assert [p["path"] for p in problems] == ["$.max_position_usd", "$.symbols[1]"]
    assert "0 is less than or equal to the minimum of 0" in problems[0]["message"]


def test_an_unresolvable_ref_is_a_problem_not_a_crash() -> None:
    problems = value_problems({"$ref": "https://example.invalid/schema.json"}, 1)
    assert problems[0]["message"].startswith("the schema has an unresolvable $ref")


def test_formats_are_checked() -> None:
    assert value_problems({"type": "string", "format": "date"}, "2024-02-30")
    assert not value_problems({"type": "string", "format": "date"}, "2024-02-29")


@pytest.mark.django_db
def test_an_invalid_value_is_refused_with_details_and_nothing_is_stored(
    make_key: KeyFactory,
) -> None:
    key = make_key(schema=LIMITS, default={"max_position_usd": 1000})
    with pytest.raises(ConfigValueInvalid) as caught:
        config_value_set(key=key, value={"max_position_usd": -5, "extra": 1})
    details = caught.value.details
    assert details["key"] == key
    assert {p["path"] for p in details["problems"]} == {"$", "$.max_position_usd"}
    assert not ConfigValue.objects.filter(config_key__key=key).exists()


def test_oversize_values_are_refused() -> None:
    with pytest.raises(ConfigValueTooLarge) as caught:
        check_value(key="a.b", schema={}, value="x" * 100, max_bytes=50)
    assert caught.value.status == 413
    assert caught.value.details == {"size": 102, "limit": 50}


def test_values_that_are_not_json_are_refused() -> None:
    with pytest.raises(ConfigValueInvalid):
        check_value(key="a.b", schema={}, value={1, 2}, max_bytes=1000)
