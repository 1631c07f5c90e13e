from __future__ import annotations

from typing import Any

import pytest

from visionflow.errors import SpecError
from visionflow.spec.document import WorkflowSpec


def doc(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"version": "1.0", "inputs": [], "steps": [], "outputs": []}
    base.update(overrides)
    return base


def test_empty_document_parses() -> None:
    spec = WorkflowSpec.parse(doc())
    assert (spec.inputs, spec.steps, spec.outputs) == ([], [], [])


def test_wrapper_and_unknown_top_level_keys_are_accepted() -> None:
    spec = WorkflowSpec.parse({"specification": doc(id="w1", something_else=1)})
    assert spec.id == "w1"


@pytest.mark.parametrize(
    ("input_definition", "kinds", "dimensionality"),
    [
        ({"type": "WorkflowImage", "name": "image"}, ["image"], 1),
        ({"type": "InferenceImage", "name": "image"}, ["image"], 1),
        ({"type": "WorkflowVideoMetadata", "name": "vm"}, ["video_metadata"], 1),
        ({"type": "WorkflowBatchInput", "name": "b"}, ["*"], 1),
        (
            {"type": "WorkflowBatchInput", "name": "b", "kind": ["integer"], "dimensionality": 2},
            ["integer"],
            2,
        ),
        ({"type": "WorkflowParameter", "name": "p", "default_value": [1, 2]}, ["*"], 0),
        ({"type": "InferenceParameter", "name": "p", "kind": [{"name": "string"}]}, ["string"], 0),
    ],
)
def test_input_types_and_aliases(
    input_definition: dict[str, Any], kinds: list[str], dimensionality: int
) -> None:
    spec = WorkflowSpec.parse(doc(inputs=[input_definition]))
    assert spec.inputs[0].kind == kinds
    assert spec.inputs[0].dimensionality == dimensionality


@pytest.mark.parametrize(
    ("document", "code", "loc"),
    [
        ([], "spec.not_an_object", None),
        ({"inputs": [], "steps": [], "outputs": []}, "spec.invalid_field", "version"),
        (doc(version="2.0"), "spec.invalid_field", "version"),
        (doc(inputs=[{"type": "WorkflowImagee", "name": "x"}]), "spec.invalid_field", "inputs[0]"),
        (
            doc(inputs=[{"type": "WorkflowImage", "name": "bad name"}]),
            "spec.invalid_field",
            "inputs[0].name",
        ),
        (
            doc(outputs=[{"type": "JsonField", "name": "o", "selector": "$steps.x"}]),
            "spec.invalid_field",
            "outputs[0].selector",
        ),
        (doc(steps=[{"name": "a"}]), "spec.invalid_step", "steps[0].type"),
        (
            doc(
                inputs=[
                    {"type": "WorkflowImage", "name": "a"},
                    {"type": "WorkflowParameter", "name": "a"},
                ]
            ),
            "spec.duplicate_name",
            "inputs[1].name",
        ),
        (
            doc(steps=[{"type": "x", "name": "s"}, {"type": "y", "name": "s"}]),
            "spec.duplicate_name",
            "steps[1].name",
        ),
    ],
)
def test_schema_errors_carry_code_and_location(document: Any, code: str, loc: str | None) -> None:
    with pytest.raises(SpecError) as info:
        WorkflowSpec.parse(document)
    assert info.value.code == code
    assert info.value.loc == loc


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(SpecError) as info:
        WorkflowSpec.parse(
            doc(
                inputs=[{"type": "Nope", "name": "a"}],
                outputs=[{"type": "JsonField", "name": "o", "selector": "bad"}],
            )
        )
    locs = {d.loc for d in info.value.details}
    assert {"inputs[0]", "outputs[0].selector"} <= locs
    assert "2 problems" in info.value.message
