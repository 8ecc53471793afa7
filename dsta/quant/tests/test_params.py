import numpy as np
import pytest

from dsta.quant import (
    ChoiceParam,
    FloatParam,
    IntParam,
    InvalidParameters,
    Param,
    get_strategy,
    param_grid,
    validate_params,
)

SPEC: dict[str, Param] = {
    "fast": IntParam(10, 2, 100),
    "k": FloatParam(2.0, 0.5, 5.0),
    "direction": ChoiceParam("long", ("long", "short", "both")),
}


def test_defaults_fill_in_and_values_pass_through() -> None:
    assert validate_params(SPEC, {"k": 3}) == {"fast": 10, "k": 3.0, "direction": "long"}
    assert validate_params(SPEC, None) == {"fast": 10, "k": 2.0, "direction": "long"}
    assert validate_params(SPEC, {"fast": np.int64(7)})["fast"] == 7


@pytest.mark.parametrize(
    ("given", "name", "fragment"),
    [
        ({"fast": 1}, "fast", "out of range [2, 100]"),
        ({"fast": 101}, "fast", "out of range"),
        ({"fast": 10.0}, "fast", "expected an integer, got float"),
        ({"fast": "10"}, "fast", "expected an integer, got str"),
        ({"fast": True}, "fast", "expected an integer, got bool"),
        ({"k": 5.5}, "k", "out of range"),
        ({"k": float("nan")}, "k", "must be finite"),
        ({"k": "2"}, "k", "expected a number"),
        ({"direction": "up"}, "direction", "must be one of"),
        ({"slow": 5}, "slow", "unknown parameter"),
    ],
)
def test_bad_values_name_the_parameter(given: dict, name: str, fragment: str) -> None:
    with pytest.raises(InvalidParameters) as caught:
        validate_params(SPEC, given)

    assert caught.value.name == name
    assert fragment in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "invalid_parameters"


def test_cross_parameter_rule_of_a_strategy() -> None:
    strategy = get_strategy("sma_crossover")()

    with pytest.raises(InvalidParameters) as caught:
        strategy.validate({"fast": 50, "slow": 20})

    assert caught.value.name == "fast"
    assert "smaller than slow" in str(caught.value)


def test_grid_is_the_validated_cartesian_product() -> None:
    combos = param_grid(SPEC, {"fast": [5, 10], "direction": ["long"]}, steps=3)

    assert len(combos) == 2 * 3 * 1
    assert {c["k"] for c in combos} == {0.5, 2.75, 5.0}
    with pytest.raises(InvalidParameters):
        param_grid(SPEC, {"fast": [5, 1000]})


def test_declared_grids_and_samples_stay_in_range() -> None:
    rng = np.random.default_rng(3)
    assert IntParam(10, 2, 5).grid(10) == [2, 3, 4, 5]
    assert ChoiceParam("a", ("a", "b")).grid(7) == ["a", "b"]
    for _ in range(50):
        assert 2 <= IntParam(10, 2, 5).sample(rng) <= 5
        assert 0.5 <= FloatParam(1.0, 0.5, 0.7).sample(rng) <= 0.7
