"""Inline ``roboflow_core/inner_workflow@v1`` steps before compilation.

An inner-workflow step holds a child definition and ``parameter_bindings`` (child input name ->
parent selector). Its child's steps are copied into the parent as ``<step>__<child step>``,
child ``$inputs.x`` references become the bound parent selectors (or the child parameter's
default), and parent references to ``$steps.<step>.<child output>`` become the child output's
selector. The result is an ordinary document: one plan, one scheduler, no nested engine.

>>> child = {"version": "1.0",
...          "inputs": [{"type": "WorkflowParameter", "name": "x"}],
...          "steps": [{"type": "Echo", "name": "echo", "value": "$inputs.x"}],
...          "outputs": [{"type": "JsonField", "name": "out", "selector": "$steps.echo.value"}]}
>>> parent = {"version": "1.0", "inputs": [{"type": "WorkflowParameter", "name": "v"}],
...           "steps": [{"type": "roboflow_core/inner_workflow@v1", "name": "inner",
...                      "workflow_definition": child, "parameter_bindings": {"x": "$inputs.v"}}],
...           "outputs": [{"type": "JsonField", "name": "o", "selector": "$steps.inner.out"}]}
>>> inlined = inline_inner_workflows(parent)
>>> inlined["steps"], inlined["outputs"][0]["selector"]
([{'type': 'Echo', 'name': 'inner__echo', 'value': '$inputs.v'}], '$steps.inner__echo.value')
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from collections.abc import Callable
from typing import Any

import orjson

from visionflow.errors import CompileError

INNER_WORKFLOW_TYPE = "roboflow_core/inner_workflow@v1"
MAX_DEPTH_ENV = "VISIONFLOW_MAX_INNER_WORKFLOW_DEPTH"
DEFAULT_MAX_DEPTH = 8
_INPUT_RE = re.compile(r"^\$inputs\.([A-Za-z0-9_\-]+)$")
_PARAMETER_TYPES = ("WorkflowParameter", "InferenceParameter")


def has_inner_workflows(document: dict[str, Any]) -> bool:
    steps = document.get("steps")
    return isinstance(steps, list) and any(
        isinstance(s, dict) and s.get("type") == INNER_WORKFLOW_TYPE for s in steps
    )


def max_depth() -> int:
    try:
        return max(1, int(os.environ.get(MAX_DEPTH_ENV, DEFAULT_MAX_DEPTH)))
    except ValueError:
        return DEFAULT_MAX_DEPTH


def inline_inner_workflows(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` with every inner-workflow step inlined (innermost first)."""
    return inline_with_locations(document)[0]


def inline_with_locations(document: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The inlined document and, for each of its steps, where it was written (its JSON path),
    so that errors point into the child definition (``steps[1].workflow_definition.steps[0]``)."""
    return _inline(document, loc="", chain=())


def _inline(
    document: dict[str, Any], *, loc: str, chain: tuple[str, ...]
) -> tuple[dict[str, Any], list[str]]:
    locations = [f"{loc}steps[{i}]" for i in range(len(document.get("steps") or []))]
    if not has_inner_workflows(document):
        return document, locations
    fingerprint = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
    if fingerprint in chain:
        raise CompileError(
            "an inner workflow contains itself (a cycle of nested workflows)",
            code="compile.inner_workflow",
            loc=loc or "steps",
        )
    if len(chain) >= max_depth():
        raise CompileError(
            f"inner workflows are nested more than {max_depth()} levels deep; flatten the "
            f"definition or raise {MAX_DEPTH_ENV}",
            code="compile.inner_workflow",
            loc=loc or "steps",
        )
    result = copy.deepcopy(document)
    index = 0
    while index < len(result["steps"]):
        step = result["steps"][index]
        if not (isinstance(step, dict) and step.get("type") == INNER_WORKFLOW_TYPE):
            index += 1
            continue
        step_loc = locations[index]
        child, child_locations = _inline(
            _child_definition(step, step_loc),
            loc=f"{step_loc}.workflow_definition.",
            chain=(*chain, fingerprint),
        )
        count = _expand(result, index, step, child, step_loc)
        locations[index : index + 1] = child_locations
        index += count
    return result, locations


def _child_definition(step: dict[str, Any], loc: str) -> dict[str, Any]:
    if step.get("execution_mode", "embedded") != "embedded":
        raise CompileError(
            f"inner workflow '{step.get('name')}': execution_mode "
            f"'{step.get('execution_mode')}' sends the child to a remote service; visionflow "
            "runs workflows locally, so only 'embedded' is supported",
            code="compile.inner_workflow",
            loc=f"{loc}.execution_mode",
        )
    child = step.get("workflow_definition")
    if isinstance(child, dict) and "specification" in child and "steps" not in child:
        child = child["specification"]
    if not isinstance(child, dict) or not child:
        reference = step.get("workflow_id")
        detail = (
            f"it refers to saved workflow '{reference}', which must be given inline"
            if reference
            else "it has no 'workflow_definition'"
        )
        raise CompileError(
            f"inner workflow '{step.get('name')}' cannot be expanded: {detail}",
            code="compile.inner_workflow",
            loc=f"{loc}.workflow_definition",
        )
    for key in ("inputs", "steps", "outputs"):
        if not isinstance(child.get(key), list):
            raise CompileError(
                f"inner workflow '{step.get('name')}': the child definition needs a '{key}' list",
                code="compile.inner_workflow",
                loc=f"{loc}.workflow_definition.{key}",
            )
    return child


def _expand(
    parent: dict[str, Any], index: int, step: dict[str, Any], child: dict[str, Any], loc: str
) -> int:
    name = step["name"]
    bindings = step.get("parameter_bindings") or {}
    if not isinstance(bindings, dict):
        raise CompileError(
            f"inner workflow '{name}': parameter_bindings must map child input names to values",
            code="compile.inner_workflow",
            loc=f"{loc}.parameter_bindings",
        )
    replacements = _input_replacements(name, child, bindings, loc)
    used = {s.get("name") for s in parent["steps"] if isinstance(s, dict)} - {name}
    renames: dict[str, str] = {}
    for child_step in child["steps"]:
        new_name = candidate = f"{name}__{child_step.get('name')}"
        suffix = 2
        while new_name in used:
            new_name = f"{candidate}__{suffix}"
            suffix += 1
        used.add(new_name)
        renames[str(child_step.get("name"))] = new_name
    if not renames:
        raise CompileError(
            f"inner workflow '{name}' has no steps to run",
            code="compile.inner_workflow",
            loc=f"{loc}.workflow_definition.steps",
        )

    def rewrite(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = _rename_steps(value, renames)
        match = _INPUT_RE.match(value)
        if match and match.group(1) in replacements:
            return copy.deepcopy(replacements[match.group(1)])
        return value

    inlined = []
    for child_step in child["steps"]:
        rewritten = _map_leaves(child_step, rewrite)
        rewritten["name"] = renames[str(child_step.get("name"))]
        inlined.append(rewritten)
    outputs = {
        o["name"]: rewrite(o["selector"])
        for o in child["outputs"]
        if isinstance(o, dict) and isinstance(o.get("name"), str)
    }
    first = inlined[0]["name"]

    def patch(value: Any) -> Any:
        if not isinstance(value, str) or f"$steps.{name}" not in value:
            return value
        for output in sorted(outputs, key=len, reverse=True):
            value = value.replace(f"$steps.{name}.{output}", outputs[output])
        return re.sub(rf"\$steps\.{re.escape(name)}(?![.\w-])", f"$steps.{first}", value)

    for key in ("steps", "outputs"):
        parent[key] = [_map_leaves(item, patch) for item in parent[key]]
    parent["steps"][index : index + 1] = inlined
    hoisted = child.get("dynamic_blocks_definitions") or []
    if hoisted:
        parent.setdefault("dynamic_blocks_definitions", [])
        known = {
            d.get("manifest", {}).get("block_type") for d in parent["dynamic_blocks_definitions"]
        }
        parent["dynamic_blocks_definitions"] += [
            d for d in hoisted if d.get("manifest", {}).get("block_type") not in known
        ]
    return len(inlined)


def _input_replacements(
    name: str, child: dict[str, Any], bindings: dict[str, Any], loc: str
) -> dict[str, Any]:
    declared: dict[str, dict[str, Any]] = {
        str(i["name"]): i for i in child["inputs"] if isinstance(i, dict) and i.get("name")
    }
    unknown = sorted(set(bindings) - set(declared))
    if unknown:
        raise CompileError(
            f"inner workflow '{name}': parameter_bindings names {unknown}, which the child "
            f"does not declare (its inputs: {sorted(n for n in declared if n)})",
            code="compile.inner_workflow",
            loc=f"{loc}.parameter_bindings",
        )
    replacements = dict(bindings)
    missing: list[str] = []
    for input_name, definition in declared.items():
        if input_name in bindings:
            continue
        if (
            definition.get("type") in _PARAMETER_TYPES
            and definition.get("default_value") is not None
        ):
            replacements[input_name] = definition["default_value"]
        else:
            missing.append(input_name)
    if missing:
        raise CompileError(
            f"inner workflow '{name}': bind the child inputs {sorted(missing)} in "
            "parameter_bindings (only parameters with a default value may be left out)",
            code="compile.inner_workflow",
            loc=f"{loc}.parameter_bindings",
        )
    return replacements


def _rename_steps(value: str, renames: dict[str, str]) -> str:
    if "$steps." not in value:
        return value
    for old in sorted(renames, key=len, reverse=True):
        value = re.sub(rf"\$steps\.{re.escape(old)}(?=$|\.)", f"$steps.{renames[old]}", value)
    return value


def _map_leaves(value: Any, function: Callable[[Any], Any]) -> Any:
    if isinstance(value, dict):
        return {k: _map_leaves(v, function) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_leaves(v, function) for v in value]
    return function(value)


__all__ = [
    "INNER_WORKFLOW_TYPE",
    "has_inner_workflows",
    "inline_inner_workflows",
    "inline_with_locations",
]
