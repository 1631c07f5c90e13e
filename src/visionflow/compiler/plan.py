"""The frozen result of compilation: what the engine runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from visionflow.blocks.base import BlockManifest
from visionflow.blocks.registry import BlockEntry
from visionflow.spec.document import CoordinatesSystem, WorkflowSpec
from visionflow.spec.selectors import Selector

#: lineage of every top-level batch input
INPUT_LINEAGE = "$inputs"


@dataclass(frozen=True)
class InputNode:
    name: str
    type: str
    kinds: tuple[str, ...]
    dimensionality: int  # 0 for parameters
    lineage: tuple[str, ...]
    default_value: Any = None

    @property
    def is_batch(self) -> bool:
        return self.dimensionality > 0


@dataclass(frozen=True)
class Binding:
    """How one manifest field gets its value.

    ``shape`` is ``"literal"`` (no selector), ``"selector"`` (the field is one selector),
    ``"list"`` or ``"dict"`` (a container holding selectors and literals).
    """

    field: str
    shape: str
    value: Any
    selectors: tuple[Selector, ...] = ()
    #: dimensionality offset of the field relative to the step (0 usually, 1 for nested inputs)
    offset: int = 0


@dataclass(frozen=True)
class StepNode:
    name: str
    index: int
    block_type: str  # canonical identifier
    entry: BlockEntry
    manifest: BlockManifest
    bindings: tuple[Binding, ...]
    data_dependencies: frozenset[str]
    control_parents: tuple[str, ...]
    control_targets: tuple[str, ...]
    dimensionality: int  # 0: the step runs once on scalars
    lineage: tuple[str, ...]
    output_dimensionality: int
    output_lineage: tuple[str, ...]
    outputs: dict[str, tuple[str, ...]]  # output name -> kinds
    batch_mode: bool  # run() gets whole batches
    #: fields given as a ``Batch`` to run() in batch mode (scalars broadcast into one)
    batch_fields: frozenset[str]
    #: selectors of batch data at the step's own level: an element runs only where all are set
    batch_checks: tuple[Selector, ...] = ()
    #: scalar steps this step reads: when one did not run, neither does this step
    scalar_sources: tuple[str, ...] = ()

    @property
    def dependencies(self) -> frozenset[str]:
        return self.data_dependencies | frozenset(self.control_parents)

    @property
    def output_offset(self) -> int:
        return self.manifest.output_dimensionality_offset

    @property
    def is_flow_control(self) -> bool:
        return self.manifest.is_flow_control


@dataclass(frozen=True)
class OutputNode:
    name: str
    selector: Selector
    kinds: tuple[str, ...]
    dimensionality: int
    lineage: tuple[str, ...]
    coordinates_system: CoordinatesSystem


@dataclass(frozen=True)
class Plan:
    """A compiled workflow. Immutable; safe to share between engines and threads."""

    spec: WorkflowSpec
    inputs: dict[str, InputNode]
    steps: tuple[StepNode, ...]  # in a topological order
    outputs: tuple[OutputNode, ...]
    digest: str
    steps_by_name: dict[str, StepNode] = field(default_factory=dict)
    #: per-plan objects the engine derives once (value accessors); not part of the plan's value
    runtime_cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.steps_by_name:
            object.__setattr__(self, "steps_by_name", {s.name: s for s in self.steps})

    @property
    def batch_inputs(self) -> list[InputNode]:
        return [i for i in self.inputs.values() if i.is_batch]

    def describe_interface(self) -> dict[str, Any]:
        """Inputs and outputs with their kinds (``/workflows/describe_interface``)."""
        inputs = {name: list(node.kinds) for name, node in self.inputs.items()}
        outputs = {o.name: list(o.kinds) for o in self.outputs}
        return {"inputs": inputs, "outputs": outputs}
