"""The public names are curated; changing them is a decision, not an accident."""

from __future__ import annotations

import subprocess
import sys

import visionflow
import visionflow.blocks
import visionflow.compiler
import visionflow.engine


def test_top_level_names() -> None:
    assert sorted(visionflow.__all__) == [
        "CompileError",
        "ExecutionEngine",
        "ModelError",
        "RuntimeInputError",
        "SourceError",
        "SpecError",
        "StepExecutionError",
        "VisionflowError",
        "Workflow",
        "__version__",
    ]
    for name in visionflow.__all__:
        assert getattr(visionflow, name) is not None


def test_block_api_names() -> None:
    assert sorted(visionflow.blocks.__all__) == [
        "Batch",
        "Block",
        "BlockContext",
        "BlockInfo",
        "BlockManifest",
        "BlockRegistry",
        "DataSelector",
        "FlowControl",
        "InputSelector",
        "Output",
        "StepOutputSelector",
        "StepSelector",
        "default_registry",
        "describe_blocks",
        "register_block",
    ]


def test_error_tree() -> None:
    for error in (
        visionflow.SpecError,
        visionflow.CompileError,
        visionflow.RuntimeInputError,
        visionflow.StepExecutionError,
        visionflow.ModelError,
        visionflow.SourceError,
    ):
        assert issubclass(error, visionflow.VisionflowError)


def test_import_is_light() -> None:
    code = "import sys, visionflow; print(sorted(m for m in ('supervision', 'cv2', 'pydantic') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
