from __future__ import annotations

import time
from typing import Any

import pytest

from visionflow.compiler import compile_workflow, definition_digest, validate_workflow
from visionflow.errors import CompileError, SpecError


def doc(
    inputs: list[Any] | None = None,
    steps: list[Any] | None = None,
    outputs: list[Any] | None = None,
) -> dict[str, Any]:
    return {
        "version": "1.0",
        "inputs": inputs or [],
        "steps": steps or [],
        "outputs": outputs or [],
    }


N = {"type": "WorkflowBatchInput", "name": "n", "kind": ["integer"]}
IMG = {"type": "WorkflowImage", "name": "image"}


def out(name: str, selector: str) -> dict[str, str]:
    return {"type": "JsonField", "name": name, "selector": selector}


@pytest.mark.parametrize(
    ("document", "code", "loc", "message_part"),
    [
        (
            doc(steps=[{"type": "test/ech@v1", "name": "e"}]),
            "compile.unknown_block",
            "steps[0].type",
            "did you mean 'test/echo@v1'",
        ),
        (
            doc(steps=[{"type": "test/add@v1", "name": "a", "a": "$inputs.missing"}]),
            "compile.dangling_selector",
            "steps[0].a",
            "input 'missing'",
        ),
        (
            doc([N], [{"type": "test/add@v1", "name": "a", "a": "$steps.nope.sum"}]),
            "compile.dangling_selector",
            "steps[0].a",
            "step 'nope'",
        ),
        (
            doc(
                [N],
                [
                    {"type": "test/add@v1", "name": "a", "a": "$inputs.n"},
                    {"type": "test/add@v1", "name": "b", "a": "$steps.a.summ"},
                ],
            ),
            "compile.unknown_output",
            "steps[1].a",
            "did you mean 'sum'",
        ),
        (
            doc([IMG], [{"type": "test/add@v1", "name": "a", "a": "$inputs.image"}]),
            "compile.kind_mismatch",
            "steps[0].a",
            "accepts kinds ['integer', 'float']",
        ),
        (
            doc(
                [N],
                [
                    {"type": "test/add@v1", "name": "a", "a": "$steps.b.sum"},
                    {"type": "test/add@v1", "name": "b", "a": "$steps.a.sum"},
                ],
            ),
            "compile.cycle",
            "steps.a",
            "cycle",
        ),
        (
            doc([N], [{"type": "test/add@v1", "name": "a"}]),
            "compile.invalid_step",
            "steps[0].a",
            "field required",
        ),
        (
            doc([N], [{"type": "test/add@v1", "name": "a", "a": "not a number"}]),
            "compile.invalid_step",
            "steps[0].a",
            "step 'a' (test/add@v1)",
        ),
        (
            doc(outputs=[out("o", "$steps.ghost.x")]),
            "compile.dangling_selector",
            "outputs[0].selector",
            "step 'ghost'",
        ),
        (
            doc(
                [{"type": "WorkflowParameter", "name": "p"}],
                [{"type": "test/split@v1", "name": "s", "count": "$inputs.p"}],
            ),
            "compile.dimensionality",
            "steps[0]",
            "receives no batch data",
        ),
        (
            doc(
                [N],
                [{"type": "test/batch_add@v1", "name": "b", "a": "$inputs.n", "b": "$inputs.n"}],
            ),
            "compile.batch_field",
            "steps[0].b",
            "takes a single value",
        ),
        (
            doc(
                [N],
                [
                    {"type": "test/split@v1", "name": "s", "count": "$inputs.n"},
                    {"type": "test/add@v1", "name": "a", "a": "$steps.s.item", "b": "$inputs.n"},
                ],
            ),
            "compile.dimensionality",
            "steps[1]",
            "a value per image cannot be combined",
        ),
        (
            doc(
                [N],
                [
                    {"type": "test/split@v1", "name": "s1", "count": "$inputs.n"},
                    {"type": "test/split@v1", "name": "s2", "count": "$inputs.n"},
                    {
                        "type": "test/add@v1",
                        "name": "a",
                        "a": "$steps.s1.item",
                        "b": "$steps.s2.item",
                    },
                ],
            ),
            "compile.lineage_mismatch",
            "steps[2]",
            "do not line up",
        ),
        (
            doc(
                [N],
                [
                    {
                        "type": "test/gate@v1",
                        "name": "g",
                        "value": "$inputs.n",
                        "next_steps": ["$steps.nothing"],
                    }
                ],
            ),
            "compile.dangling_selector",
            "steps[0].next_steps",
            "step 'nothing'",
        ),
    ],
)
def test_compile_errors_name_code_location_and_fix(
    document: dict[str, Any], code: str, loc: str, message_part: str
) -> None:
    with pytest.raises(CompileError) as info:
        compile_workflow(document)
    error = info.value
    assert error.code == code
    assert error.loc is not None and error.loc.startswith(loc)
    assert message_part in str(error)


def test_several_errors_in_one_document_are_reported_together() -> None:
    document = doc(
        [N],
        [
            {"type": "test/add@v1", "name": "a", "a": "$inputs.x"},
            {"type": "test/add@v1", "name": "b", "a": "$steps.zz.sum"},
            {"type": "test/nope@v1", "name": "c"},
        ],
    )
    problems = validate_workflow(document)
    assert [p.code for p in problems] == ["compile.unknown_block"]  # block lookup comes first
    document["steps"].pop()
    problems = validate_workflow(document)
    assert {(p.code, p.loc) for p in problems} == {
        ("compile.dangling_selector", "steps[0].a"),
        ("compile.dangling_selector", "steps[1].a"),
    }


def test_schema_errors_are_spec_errors() -> None:
    with pytest.raises(SpecError):
        compile_workflow({"version": "1.0"})


def test_valid_document_has_no_problems() -> None:
    assert (
        validate_workflow(
            doc(
                [N],
                [{"type": "test/add@v1", "name": "a", "a": "$inputs.n"}],
                [out("s", "$steps.a.sum")],
            )
        )
        == []
    )


def test_aliases_resolve_to_the_canonical_identifier() -> None:
    plan = compile_workflow(doc([N], [{"type": "TestEcho", "name": "e", "value": "$inputs.n"}]))
    assert plan.steps[0].block_type == "test/echo@v1"


def test_dimensionality_and_lineage_of_nested_steps() -> None:
    plan = compile_workflow(
        doc(
            [N],
            [
                {"type": "test/split@v1", "name": "split", "count": "$inputs.n"},
                {"type": "test/add@v1", "name": "add", "a": "$steps.split.item"},
                {"type": "test/collect@v1", "name": "collect", "values": "$steps.add.sum"},
                {
                    "type": "test/count_children@v1",
                    "name": "cc",
                    "parent": "$inputs.n",
                    "children": "$steps.split.item",
                },
            ],
            [out("sums", "$steps.add.sum"), out("collected", "$steps.collect.values")],
        )
    )
    by_name = plan.steps_by_name
    assert by_name["split"].output_dimensionality == 2
    assert by_name["add"].dimensionality == 2
    assert by_name["add"].lineage == ("$inputs", "$steps.split")
    assert by_name["collect"].output_dimensionality == 1
    assert by_name["cc"].dimensionality == 1
    assert [o.dimensionality for o in plan.outputs] == [2, 1]


def test_compiled_plan_is_cached_by_content() -> None:
    document = doc(
        [N], [{"type": "test/add@v1", "name": "a", "a": "$inputs.n"}], [out("s", "$steps.a.sum")]
    )
    first = compile_workflow(document)
    same = compile_workflow({"specification": dict(reversed(list(document.items())))})
    assert same is first
    start = time.perf_counter()
    for _ in range(200):
        compile_workflow(document)
    per_call = (time.perf_counter() - start) / 200
    assert per_call < 0.001  # a dictionary lookup, not a compilation
    assert definition_digest(document) == first.digest


def test_topological_order_keeps_document_order_where_possible() -> None:
    plan = compile_workflow(
        doc(
            [N],
            [
                {"type": "test/add@v1", "name": "late", "a": "$steps.early.sum"},
                {"type": "test/add@v1", "name": "early", "a": "$inputs.n"},
                {"type": "test/add@v1", "name": "other", "a": "$inputs.n"},
            ],
        )
    )
    assert [s.name for s in plan.steps] == ["early", "late", "other"]
