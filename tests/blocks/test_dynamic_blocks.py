"""Inline Python blocks: refused unless enabled, compiled once, errors name block and line."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from visionflow import CompileError, ExecutionEngine, StepExecutionError, Workflow
from visionflow.compiler import clear_compile_cache

SCALE = """
def run(self, image, factor):
    resized = cv2.resize(image.numpy_image, None, fx=factor, fy=factor)
    return {"image": WorkflowImageData.copy_and_replace(origin_image_data=image,
                                                       numpy_image=resized),
            "height": resized.shape[0] + self._init_results["offset"]}
"""
INIT = """
def init():
    return {"offset": 1000}
"""


def block(code: str = SCALE, init: str | None = INIT, **manifest: Any) -> dict[str, Any]:
    return {
        "type": "DynamicBlockDefinition",
        "manifest": {
            "type": "ManifestDescription",
            "block_type": "Scale",
            "inputs": {
                "image": {"type": "DynamicInputDefinition", "selector_types": ["input_image"]},
                "factor": {
                    "type": "DynamicInputDefinition",
                    "selector_types": ["input_parameter"],
                    "value_types": ["float"],
                    "has_default_value": True,
                    "default_value": 0.5,
                },
            },
            "outputs": {
                "image": {"type": "DynamicOutputDefinition", "kind": ["image"]},
                "height": {"type": "DynamicOutputDefinition", "kind": ["integer"]},
            },
            **manifest,
        },
        "code": {"type": "PythonCode", "run_function_code": code, "init_function_code": init},
    }


def document(*blocks: dict[str, Any], factor: Any = "$inputs.factor") -> dict[str, Any]:
    return {
        "version": "1.0",
        "inputs": [
            {"type": "WorkflowImage", "name": "image"},
            {"type": "WorkflowParameter", "name": "factor", "default_value": 0.25},
        ],
        "dynamic_blocks_definitions": list(blocks),
        "steps": [{"type": "Scale", "name": "scale", "image": "$inputs.image", "factor": factor}],
        "outputs": [
            {"type": "JsonField", "name": "image", "selector": "$steps.scale.image"},
            {"type": "JsonField", "name": "height", "selector": "$steps.scale.height"},
        ],
    }


IMAGE = np.zeros((40, 80, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("runtime", "expected_height"),
    [({"image": []}, None), ({"image": IMAGE}, 1010), ({"image": IMAGE, "factor": 0.5}, 1020)],
)
def test_python_block_runs_when_enabled(
    runtime: dict[str, Any], expected_height: int | None
) -> None:
    workflow = Workflow.load(document(block()), allow_python_blocks=True)
    result = workflow.run(**runtime)
    if expected_height is None:
        assert result == []
        return
    assert result[0]["height"] == expected_height
    assert result[0]["image"].numpy_image.shape[0] == expected_height - 1000


def test_refused_unless_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VISIONFLOW_ALLOW_PYTHON_BLOCKS", raising=False)
    with pytest.raises(CompileError) as info:
        Workflow.load(document(block()))
    assert info.value.code == "compile.python_blocks_disabled"
    assert "VISIONFLOW_ALLOW_PYTHON_BLOCKS=1" in str(info.value)
    # a plan compiled while allowed is not handed out once refused
    Workflow.load(document(block()), allow_python_blocks=True)
    with pytest.raises(CompileError):
        ExecutionEngine.init(workflow_definition=document(block()), allow_python_blocks=False)
    monkeypatch.setenv("VISIONFLOW_ALLOW_PYTHON_BLOCKS", "1")
    assert Workflow.load(document(block())).run(image=IMAGE)[0]["height"] == 1010


def test_repeated_document_compiles_in_under_a_millisecond() -> None:
    clear_compile_cache()
    definition = document(block())
    start = time.perf_counter()
    ExecutionEngine.init(workflow_definition=definition, allow_python_blocks=True)
    first = time.perf_counter() - start
    timings = []
    for _ in range(20):
        start = time.perf_counter()
        ExecutionEngine.init(workflow_definition=definition, allow_python_blocks=True)
        timings.append(time.perf_counter() - start)
    assert sorted(timings)[10] < 0.001, (first, timings)


@pytest.mark.parametrize(
    ("code", "init", "message"),
    [
        (
            "def run(self, image, factor)\n    return {}\n",
            None,
            "run_function_code line 1: expected ':'",
        ),
        (
            "def execute(self, image, factor):\n    return {}\n",
            None,
            "run_function_code defines no function 'run'",
        ),
        (
            "import not_a_module_anywhere\ndef run(self, image, factor):\n    return {}\n",
            None,
            "ModuleNotFoundError",
        ),
    ],
)
def test_bad_code_is_a_compile_error_with_the_line(
    code: str, init: str | None, message: str
) -> None:
    with pytest.raises(CompileError) as info:
        Workflow.load(document(block(code, init)), allow_python_blocks=True)
    assert info.value.code == "compile.python_block_error"
    assert "block 'Scale'" in str(info.value) and message in str(info.value)
    assert info.value.loc is not None and info.value.loc.startswith("dynamic_blocks_definitions[0]")


def test_runtime_error_names_step_block_element_and_line() -> None:
    code = "def run(self, image, factor):\n    x = 1\n    return {'height': x / 0}\n"
    workflow = Workflow.load(document(block(code, None)), allow_python_blocks=True)
    with pytest.raises(StepExecutionError) as info:
        workflow.run(image=[IMAGE, IMAGE])
    message = str(info.value)
    assert info.value.code == "step.python_block_error"
    assert "step 'scale' (Scale) failed on element [0]" in message
    assert "ZeroDivisionError" in message and "line 3 of run_function_code" in message


def test_invalid_manifest_points_into_the_definition() -> None:
    bad = block()
    bad["manifest"]["inputs"]["factor"]["selector_data_kind"] = {"input_parameter": ["nope"]}
    with pytest.raises(CompileError) as info:
        Workflow.load(document(bad), allow_python_blocks=True)
    assert info.value.code == "compile.invalid_python_block"
    assert "unknown kind(s) ['nope']" in str(info.value)
    missing = block()
    del missing["code"]["run_function_code"]
    with pytest.raises(CompileError) as info:
        Workflow.load(document(missing), allow_python_blocks=True)
    assert info.value.loc == "dynamic_blocks_definitions[0].code.run_function_code"


def test_batch_input_blocks_get_batches_and_scalars_stay_scalars() -> None:
    code = (
        "def run(self, image, factor):\n"
        "    return [{'height': int(i.numpy_image.shape[0] * factor)} for i in image]\n"
    )
    workflow = Workflow.load(
        document(block(code, None, accepts_batch_input=True)), allow_python_blocks=True
    )
    result = workflow.run(image=[IMAGE, IMAGE[:20]], factor=0.5)
    assert [r["height"] for r in result] == [20, 10]
