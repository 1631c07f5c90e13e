"""Runtime inputs: from what the caller gives to the values the engine runs on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from visionflow.compiler.plan import InputNode, Plan
from visionflow.data.deserializers import deserialize_by_kind, load_image
from visionflow.errors import RuntimeInputError, VisionflowError


@dataclass(frozen=True)
class InputPolicy:
    """Which image sources the caller allows (file paths and URLs are off by default)."""

    allow_file: bool = False
    allow_url: bool = False


@dataclass
class AssembledInputs:
    batch_size: int
    #: name -> scalar value (parameters)
    scalars: dict[str, Any]
    #: name -> {index: value} for batch inputs
    batches: dict[str, dict[tuple[int, ...], Any]]
    #: lineage -> ordered indices registered by batch inputs of dimensionality > 1
    domains: dict[tuple[str, ...], list[tuple[int, ...]]]


def assemble_inputs(plan: Plan, runtime: dict[str, Any], policy: InputPolicy) -> AssembledInputs:
    """Check and decode the runtime parameters against the plan's declared inputs."""
    if not isinstance(runtime, dict):
        raise RuntimeInputError(
            f"runtime parameters must be a mapping of input name to value, got "
            f"{type(runtime).__name__}",
            code="input.invalid",
        )
    scalars: dict[str, Any] = {}
    raw_batches: dict[str, list[Any]] = {}
    bare: set[str] = set()  # given as a single value, not a list: ids without an index
    for name, node in plan.inputs.items():
        if not node.is_batch:
            scalars[name] = _scalar(node, runtime)
            continue
        if name not in runtime or runtime[name] is None:
            raise RuntimeInputError(
                f"input '{name}' ({node.type}) is required but was not given; pass it as "
                f"{name}=... (a single value or a list with one value per element)",
                code="input.missing",
                loc=f"inputs.{name}",
            )
        value = runtime[name]
        if isinstance(value, list):
            raw_batches[name] = value
        else:
            raw_batches[name] = [value]
            bare.add(name)
    batch_size = _batch_size(raw_batches)
    batches: dict[str, dict[tuple[int, ...], Any]] = {}
    domains: dict[tuple[str, ...], list[tuple[int, ...]]] = {}
    for name, values in raw_batches.items():
        node = plan.inputs[name]
        if len(values) == 1 and batch_size > 1:
            values = values * batch_size
        batches[name] = _decode_batch(node, values, policy, domains, name in bare)
    return AssembledInputs(batch_size, scalars, batches, domains)


def _scalar(node: InputNode, runtime: dict[str, Any]) -> Any:
    if node.name in runtime:
        value = runtime[node.name]
        if value is None:
            return node.default_value
        return value
    return node.default_value


def _batch_size(raw: dict[str, list[Any]]) -> int:
    sizes = {name: len(values) for name, values in raw.items()}
    distinct = {s for s in sizes.values() if s != 1}
    if len(distinct) > 1:
        listing = ", ".join(f"'{n}': {s}" for n, s in sizes.items())
        raise RuntimeInputError(
            f"batch inputs have different lengths ({listing}); each must have the same "
            "number of elements, or exactly one (which is used for every element)",
            code="input.batch_size_mismatch",
            loc="inputs",
        )
    if distinct:
        return distinct.pop()
    return 1 if sizes else 0


def _decode_batch(
    node: InputNode,
    values: list[Any],
    policy: InputPolicy,
    domains: dict[tuple[str, ...], list[tuple[int, ...]]],
    bare: bool,
) -> dict[tuple[int, ...], Any]:
    decoded: dict[tuple[int, ...], Any] = {}
    if bare and node.dimensionality == 1:
        # one value given as is: identified by the input name alone, as the reference does
        decoded[(0,)] = _decode_value(node, values[0], None, policy)
        for i in range(1, len(values)):
            decoded[(i,)] = decoded[(0,)]
        return decoded
    if node.dimensionality == 1:
        for i, value in enumerate(values):
            decoded[(i,)] = _decode_value(node, value, (i,), policy)
        return decoded
    for i, value in enumerate(values):
        _decode_nested(node, value, (i,), policy, decoded, domains)
    return decoded


def _decode_nested(
    node: InputNode,
    value: Any,
    index: tuple[int, ...],
    policy: InputPolicy,
    out: dict[tuple[int, ...], Any],
    domains: dict[tuple[str, ...], list[tuple[int, ...]]],
) -> None:
    level = len(index)
    if level < node.dimensionality:
        if not isinstance(value, list):
            raise RuntimeInputError(
                f"input '{node.name}' has dimensionality {node.dimensionality}, so element "
                f"{list(index)} must be a list, got {type(value).__name__}",
                code="input.invalid_nesting",
                loc=f"inputs.{node.name}{_path(index)}",
            )
        lineage = node.lineage[: level + 1]
        domain = domains.setdefault(lineage, [])
        for j, child in enumerate(value):
            domain.append(index + (j,))
            _decode_nested(node, child, index + (j,), policy, out, domains)
        return
    out[index] = _decode_value(node, value, index, policy)


def _decode_value(
    node: InputNode, value: Any, index: tuple[int, ...] | None, policy: InputPolicy
) -> Any:
    position: Any = None if index is None else (index[0] if len(index) == 1 else index)
    try:
        if node.type in ("WorkflowImage", "InferenceImage"):
            return load_image(
                value,
                input_name=node.name,
                index=position,
                allow_url=policy.allow_url,
                allow_file=policy.allow_file,
            )
        return deserialize_by_kind(
            value,
            node.kinds,
            input_name=node.name,
            index=position,
            allow_url=policy.allow_url,
            allow_file=policy.allow_file,
        )
    except VisionflowError:
        raise
    except Exception as error:
        where = f" element {list(index)}" if index else ""
        raise RuntimeInputError(
            f"input '{node.name}'{where} could not be read: {error}",
            code="input.invalid_value",
            loc=f"inputs.{node.name}{_path(index or ())}",
        ) from error


def _path(index: tuple[int, ...]) -> str:
    return "".join(f"[{i}]" for i in index)
