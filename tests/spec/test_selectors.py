from __future__ import annotations

import pytest

from visionflow.spec.selectors import looks_like_selector, parse_selector


@pytest.mark.parametrize(
    ("raw", "source", "name", "output"),
    [
        ("$inputs.image", "inputs", "image", None),
        ("$inputs.my-input_2", "inputs", "my-input_2", None),
        ("$steps.det.predictions", "steps", "det", "predictions"),
        ("$steps.det.*", "steps", "det", "*"),
        ("$steps.crop", "steps", "crop", None),
    ],
)
def test_valid_selectors_parse(raw: str, source: str, name: str, output: str | None) -> None:
    selector = parse_selector(raw)
    assert (selector.source, selector.name, selector.output) == (source, name, output)
    assert str(selector) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "$inputs",
        "$inputs.",
        "$input.image",
        "$steps.a.b.c",
        "$steps.a b.c",
        "inputs.image",
        "$steps..x",
    ],
)
def test_invalid_selectors_say_what_is_expected(raw: str) -> None:
    with pytest.raises(ValueError, match=r"expected '\$inputs.<name>'"):
        parse_selector(raw)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("$inputs.x", True),
        ("$steps.s.o", True),
        ("$other", False),
        (3, False),
    ],
)
def test_looks_like_selector(value: object, expected: bool) -> None:
    assert looks_like_selector(value) is expected


def test_selector_kinds_of_reference() -> None:
    assert parse_selector("$steps.crop").is_step
    assert parse_selector("$steps.crop.crops").is_step_output
    assert parse_selector("$steps.crop.*").is_wildcard
    assert parse_selector("$inputs.image").is_input
