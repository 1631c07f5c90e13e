"""Inline Python blocks (``dynamic_blocks_definitions``) compiled into real blocks.

A definition carries a manifest description (inputs, outputs, dimensionality, batch options)
and Python code. The code runs with the privileges of the process, so it is refused unless the
operator enables it: ``VISIONFLOW_ALLOW_PYTHON_BLOCKS=1`` or ``allow_python_blocks=True``.
Each definition is compiled once per process, keyed by the hash of its canonical JSON: a
repeated document costs a dictionary lookup.

>>> definition = {
...     "type": "DynamicBlockDefinition",
...     "manifest": {"type": "ManifestDescription", "block_type": "Double",
...                  "inputs": {"x": {"type": "DynamicInputDefinition",
...                                   "selector_types": ["input_parameter"],
...                                   "value_types": ["integer"]}},
...                  "outputs": {"y": {"type": "DynamicOutputDefinition", "kind": ["integer"]}}},
...     "code": {"type": "PythonCode",
...              "run_function_code": "def run(self, x):\\n    return {'y': 2 * x}\\n"},
... }
>>> [block] = compile_dynamic_blocks([definition], allowed=True)
>>> block.manifest.identifier()
'Double'
"""

from __future__ import annotations

import hashlib
import os
import threading
import traceback
import types
from enum import Enum
from typing import Any, Literal, Optional, Union

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from visionflow.blocks.base import Block, BlockInfo, BlockManifest, DataSelector, Output
from visionflow.errors import CompileError, ErrorDetail, VisionflowError
from visionflow.spec.document import validation_error_details
from visionflow.spec.kinds import KINDS

ENV_FLAG = "VISIONFLOW_ALLOW_PYTHON_BLOCKS"


class SelectorType(str, Enum):
    INPUT_IMAGE = "input_image"
    STEP_OUTPUT_IMAGE = "step_output_image"
    INPUT_PARAMETER = "input_parameter"
    STEP_OUTPUT = "step_output"
    GENERIC = "generic"


class ValueType(str, Enum):
    ANY = "any"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DICT = "dict"
    LIST = "list"
    STRING = "string"


class DynamicInputDefinition(BaseModel):
    type: Literal["DynamicInputDefinition"]
    has_default_value: bool = False
    default_value: Any = None
    is_optional: bool = False
    is_dimensionality_reference: bool = False
    dimensionality_offset: int = Field(default=0, ge=-1, le=1)
    selector_types: list[SelectorType] = Field(default_factory=list)
    selector_data_kind: dict[SelectorType, list[str]] = Field(default_factory=dict)
    value_types: list[ValueType] = Field(default_factory=list)


class DynamicOutputDefinition(BaseModel):
    type: Literal["DynamicOutputDefinition"]
    kind: list[str] = Field(default_factory=list)


class ManifestDescription(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["ManifestDescription"]
    block_type: str
    description: Optional[str] = None
    inputs: dict[str, DynamicInputDefinition]
    outputs: dict[str, DynamicOutputDefinition] = Field(default_factory=dict)
    output_dimensionality_offset: int = Field(default=0, ge=-1, le=1)
    accepts_batch_input: bool = False
    accepts_empty_values: bool = False
    batch_oriented_parameters: list[str] = Field(default_factory=list)
    parameters_with_scalars_and_batches: list[str] = Field(default_factory=list)


class PythonCode(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["PythonCode"]
    run_function_code: str
    run_function_name: str = "run"
    init_function_code: Optional[str] = None
    init_function_name: str = "init"
    imports: list[str] = Field(default_factory=list)


class DynamicBlockDefinition(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["DynamicBlockDefinition"]
    manifest: ManifestDescription
    code: PythonCode


_VALUE_TYPES: dict[ValueType, Any] = {
    ValueType.ANY: Any,
    ValueType.INTEGER: int,
    ValueType.FLOAT: float,
    ValueType.BOOLEAN: bool,
    ValueType.DICT: dict,
    ValueType.LIST: list,
    ValueType.STRING: str,
}

_cache: dict[str, type[Block]] = {}
_cache_lock = threading.Lock()


def python_blocks_allowed(explicit: bool | None = None) -> bool:
    """The caller's choice, else the environment (``VISIONFLOW_ALLOW_PYTHON_BLOCKS=1``)."""
    if explicit is not None:
        return explicit
    return os.environ.get(ENV_FLAG, "").strip().lower() in ("1", "true", "yes", "on")


def refuse_python_blocks() -> CompileError:
    return CompileError(
        "the workflow defines inline Python blocks (dynamic_blocks_definitions), which run "
        f"arbitrary code and are disabled; enable them with {ENV_FLAG}=1 (server, CLI) or "
        "allow_python_blocks=True (Python API) if you trust this document",
        code="compile.python_blocks_disabled",
        loc="dynamic_blocks_definitions",
    )


def compile_dynamic_blocks(definitions: list[Any], *, allowed: bool) -> list[type[Block]]:
    """One block class per definition (cached by content); every problem reported together."""
    if not definitions:
        return []
    if not allowed:
        raise refuse_python_blocks()
    blocks: list[type[Block]] = []
    details: list[ErrorDetail] = []
    for index, raw in enumerate(definitions):
        try:
            blocks.append(_compiled(raw, index))
        except CompileError as error:
            details.extend(error.details or [ErrorDetail(error.code, error.message, error.loc)])
    if details:
        first = details[0]
        raise CompileError(first.message, code=first.code, loc=first.loc, details=details)
    return blocks


def _compiled(raw: Any, index: int) -> type[Block]:
    key = hashlib.sha256(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)).hexdigest()
    block = _cache.get(key)
    if block is None:
        block = _build(raw, index)
        with _cache_lock:
            _cache[key] = block
    return block


def _build(raw: Any, index: int) -> type[Block]:
    loc = f"dynamic_blocks_definitions[{index}]"
    try:
        definition = DynamicBlockDefinition.model_validate(raw)
    except ValidationError as error:
        details = validation_error_details(
            error, code="compile.invalid_python_block", prefix=("dynamic_blocks_definitions", index)
        )
        raise CompileError(
            details[0].message, code=details[0].code, loc=details[0].loc, details=details
        ) from None
    manifest = _manifest_class(definition.manifest, loc)
    namespace = _execute_code(definition, loc)
    return _block_class(definition, manifest, namespace, loc)


# -- manifest -----------------------------------------------------------------------------------
def _manifest_class(description: ManifestDescription, loc: str) -> type[BlockManifest]:
    fields: dict[str, Any] = {
        "type": (Literal[description.block_type], ...),  # type: ignore[valid-type]
    }
    for name, spec in description.inputs.items():
        fields[name] = (_field_type(description.block_type, name, spec, loc), _default(spec))
    references = [n for n, s in description.inputs.items() if s.is_dimensionality_reference]
    if len(references) > 1:
        raise CompileError(
            f"block '{description.block_type}' declares {len(references)} dimensionality "
            f"references ({', '.join(references)}); at most one input may be the reference",
            code="compile.invalid_python_block",
            loc=f"{loc}.manifest.inputs",
        )
    selector_inputs = [n for n, s in description.inputs.items() if s.selector_types]
    batch = list(description.batch_oriented_parameters)
    either = list(description.parameters_with_scalars_and_batches)
    if description.accepts_batch_input and not batch and not either:
        # the legacy flag: every input given batch data receives it as a Batch
        either = selector_inputs
    attributes = {
        "block_info": BlockInfo(
            name=description.block_type.replace("_", " ").title(),
            short=description.description or "Inline Python block",
            category="custom",
        ),
        "outputs": tuple(
            Output(name, *(output.kind or ["*"])) for name, output in description.outputs.items()
        ),
        "batch_fields": tuple(batch),
        "batch_or_scalar_fields": tuple(either),
        "output_dimensionality_offset": description.output_dimensionality_offset,
        "input_dimensionality_offsets": {
            n: s.dimensionality_offset
            for n, s in description.inputs.items()
            if s.dimensionality_offset
        },
        "dimensionality_reference": references[0] if references else None,
        "accepts_empty_values": description.accepts_empty_values,
    }
    model = create_model(  # type: ignore[call-overload]
        f"DynamicManifest_{_identifier(description.block_type)}",
        __base__=BlockManifest,
        **fields,
    )
    for attribute, value in attributes.items():
        setattr(model, attribute, value)
    return model  # type: ignore[no-any-return]


def _field_type(block_type: str, name: str, spec: DynamicInputDefinition, loc: str) -> Any:
    options: list[Any] = []
    for selector_type in spec.selector_types:
        kinds = spec.selector_data_kind.get(selector_type, ["*"])
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise CompileError(
                f"input '{name}' of block '{block_type}' names unknown kind(s) {unknown}; known "
                f"kinds: {', '.join(sorted(KINDS))}",
                code="compile.invalid_python_block",
                loc=f"{loc}.manifest.inputs.{name}",
            )
        if selector_type in (SelectorType.INPUT_IMAGE, SelectorType.STEP_OUTPUT_IMAGE):
            kinds = ["image"]
        options.append(DataSelector(*kinds))
    options.extend(_VALUE_TYPES[v] for v in spec.value_types)
    if not options:
        raise CompileError(
            f"input '{name}' of block '{block_type}' accepts neither selectors nor values; "
            "give it selector_types or value_types",
            code="compile.invalid_python_block",
            loc=f"{loc}.manifest.inputs.{name}",
        )
    field_type = options[0] if len(options) == 1 else Union[tuple(options)]
    return Optional[field_type] if spec.is_optional else field_type


def _default(spec: DynamicInputDefinition) -> Any:
    if spec.has_default_value:
        return Field(default=spec.default_value)
    if spec.is_optional:
        return Field(default=None)
    return ...


def _identifier(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


# -- code ---------------------------------------------------------------------------------------
_PRELUDE = {
    "math": "math",
    "time": "time",
    "json": "json",
    "os": "os",
    "np": "numpy",
    "cv2": "cv2",
    "sv": "supervision",
}


def _base_namespace() -> dict[str, Any]:
    import importlib

    from visionflow.blocks import _dynamic_compat
    from visionflow.blocks.base import Batch

    namespace: dict[str, Any] = {
        "Any": Any,
        "List": list,
        "Dict": dict,
        "Set": set,
        "Optional": Optional,
        "Batch": Batch,
        "BlockResult": Any,
        "WorkflowImageData": _dynamic_compat.WorkflowImageData,
    }
    for alias, module in _PRELUDE.items():
        namespace[alias] = importlib.import_module(module)
    return namespace


def _execute_code(definition: DynamicBlockDefinition, loc: str) -> dict[str, Any]:
    code = definition.code
    block_type = definition.manifest.block_type
    namespace = _base_namespace()
    sources = [("imports", "\n".join(code.imports))]
    sources.append(("run_function_code", code.run_function_code))
    if code.init_function_code:
        sources.append(("init_function_code", code.init_function_code))
    for field, source in sources:
        filename = f"<python block {block_type}: {field}>"
        try:
            exec(compile(source, filename, "exec"), namespace)
        except SyntaxError as error:
            raise CompileError(
                f"block '{block_type}': {field} line {error.lineno}: {error.msg}",
                code="compile.python_block_error",
                loc=f"{loc}.code.{field}",
            ) from None
        except Exception as error:
            raise CompileError(
                f"block '{block_type}': {field} failed when loaded: "
                f"{type(error).__name__}: {error}{_user_line(error)}",
                code="compile.python_block_error",
                loc=f"{loc}.code.{field}",
            ) from None
    for name, field in (
        (code.run_function_name, "run_function_code"),
        (code.init_function_name if code.init_function_code else None, "init_function_code"),
    ):
        if name is not None and not callable(namespace.get(name)):
            raise CompileError(
                f"block '{block_type}': {field} defines no function '{name}'",
                code="compile.python_block_error",
                loc=f"{loc}.code.{field}",
            )
    return namespace


def _user_line(error: BaseException) -> str:
    """`` (line N of run_function_code)`` for the innermost frame in the user's code."""
    found = ""
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename.startswith("<python block "):
            field = frame.filename.rsplit(": ", 1)[-1].rstrip(">")
            found = f" (line {frame.lineno} of {field})"
    return found


def _block_class(
    definition: DynamicBlockDefinition,
    manifest: type[BlockManifest],
    namespace: dict[str, Any],
    loc: str,
) -> type[Block]:
    code = definition.code
    run_function = namespace[code.run_function_name]
    init_function = namespace.get(code.init_function_name) if code.init_function_code else None
    block_type = definition.manifest.block_type

    def __init__(self: Any, context: Any) -> None:
        Block.__init__(self, context)
        self._init_results = {}
        if init_function is not None:
            try:
                self._init_results = init_function()
            except Exception as error:
                raise RuntimeError(
                    f"init function of block '{block_type}' failed: "
                    f"{type(error).__name__}: {error}{_user_line(error)}"
                ) from error

    def run(self: Any, **kwargs: Any) -> Any:
        try:
            return run_function(self, **kwargs)
        except Exception as error:
            raise PythonBlockError(f"{type(error).__name__}: {error}{_user_line(error)}") from error

    block = types.new_class(
        f"PythonBlock_{_identifier(block_type)}",
        (Block,),
        exec_body=lambda body: body.update(
            {"manifest": manifest, "__init__": __init__, "run": run, "__module__": __name__}
        ),
    )
    return block


class PythonBlockError(VisionflowError):
    """An exception raised by an inline Python block's code, with the line it came from."""

    default_code = "step.python_block_error"


def dynamic_definition_schema() -> dict[str, Any]:
    return DynamicBlockDefinition.model_json_schema()


__all__ = [
    "ENV_FLAG",
    "DynamicBlockDefinition",
    "PythonBlockError",
    "compile_dynamic_blocks",
    "dynamic_definition_schema",
    "python_blocks_allowed",
    "refuse_python_blocks",
]
