"""Block authoring API: a pydantic manifest per block and a ``Block`` that runs it.

A manifest declares the block's identifier (the first value of its ``type`` literal; the
others are aliases), its fields (literals or selectors, with the kinds they accept), its outputs
and how it changes dimensionality. A block's ``run()`` receives whole batches for the fields it
lists in ``batch_fields``; otherwise the engine calls it once per element.

>>> from typing import Literal
>>> class DoubleManifest(BlockManifest):
...     type: Literal["example/double@v1", "Double"]
...     value: DataSelector("integer")
...     block_info = BlockInfo(name="Double", short="Doubles an integer")
...     outputs = (Output("doubled", "integer"),)
>>> class DoubleBlock(Block):
...     manifest = DoubleManifest
...     def run(self, value):
...         return {"doubled": value * 2}
>>> DoubleManifest.identifier(), DoubleManifest.aliases()
('example/double@v1', ('Double',))
"""

from __future__ import annotations

import abc
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Generic, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from visionflow.spec.kinds import Kind, kind_names
from visionflow.spec.selectors import (
    DATA_SELECTOR_PATTERN,
    INPUT_SELECTOR_PATTERN,
    STEP_OUTPUT_SELECTOR_PATTERN,
    STEP_SELECTOR_PATTERN,
)

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Selector field types
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SelectorInfo:
    """Marks a manifest field type as a selector and records the kinds it accepts.

    ``points_to`` is ``"data"`` (inputs and step outputs), ``"input"``, ``"step_output"`` or
    ``"step"`` (a step itself: flow-control targets).
    """

    kinds: tuple[str, ...] = ("*",)
    points_to: str = "data"

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = _PATTERNS[self.points_to]
        schema["kind"] = [{"name": name} for name in self.kinds]
        schema["selected_element"] = {
            "data": "any_data",
            "input": "workflow_parameter",
            "step_output": "step_output",
            "step": "step",
        }[self.points_to]
        return schema


_PATTERNS = {
    "data": DATA_SELECTOR_PATTERN,
    "input": INPUT_SELECTOR_PATTERN,
    "step_output": STEP_OUTPUT_SELECTOR_PATTERN,
    "step": STEP_SELECTOR_PATTERN,
}


def DataSelector(*kinds: Kind | str) -> Any:
    """A field that takes ``$inputs.x`` or ``$steps.s.out`` of one of ``kinds`` (default: any)."""
    names = kind_names(kinds) or ("*",)
    return Annotated[str, Field(pattern=DATA_SELECTOR_PATTERN), SelectorInfo(names, "data")]


def InputSelector(*kinds: Kind | str) -> Any:
    names = kind_names(kinds) or ("*",)
    return Annotated[str, Field(pattern=INPUT_SELECTOR_PATTERN), SelectorInfo(names, "input")]


def StepOutputSelector(*kinds: Kind | str) -> Any:
    names = kind_names(kinds) or ("*",)
    return Annotated[
        str, Field(pattern=STEP_OUTPUT_SELECTOR_PATTERN), SelectorInfo(names, "step_output")
    ]


StepSelector = Annotated[str, Field(pattern=STEP_SELECTOR_PATTERN), SelectorInfo((), "step")]


# ---------------------------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Output:
    """One output of a block: its name and kinds."""

    name: str
    kinds: tuple[str, ...] = ("*",)

    def __init__(self, name: str, *kinds: Kind | str) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "kinds", kind_names(kinds) or ("*",))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": [{"name": k} for k in self.kinds]}


@dataclass(frozen=True)
class BlockInfo:
    """Human-facing facts about a block, used by ``describe`` and the docs."""

    name: str
    short: str = ""
    long: str = ""
    category: str = "custom"
    license: str = "Apache-2.0"


@dataclass(frozen=True)
class FieldSpec:
    """What the compiler needs to know about one manifest field (derived once per class)."""

    name: str
    selector_kinds: tuple[str, ...] | None  # kinds when the field accepts data selectors
    accepts_step_selector: bool
    accepts_literal: bool


class BlockManifest(BaseModel):
    """Base of every block manifest. Subclasses declare fields and these class attributes."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, protected_namespaces=())

    name: str = Field(description="Unique name of the step in the workflow")

    block_info: ClassVar[BlockInfo] = BlockInfo(name="Block")
    outputs: ClassVar[tuple[Output, ...]] = ()
    #: fields whose batches reach ``run()`` whole; the others are given one element at a time.
    batch_fields: ClassVar[tuple[str, ...]] = ()
    #: fields that receive a ``Batch`` when given batch data and the plain value when given a
    #: parameter (the reference's "parameters with scalars and batches").
    batch_or_scalar_fields: ClassVar[tuple[str, ...]] = ()
    #: +1 for blocks that make one output element per item (crops), -1 for blocks that collapse.
    output_dimensionality_offset: ClassVar[int] = 0
    #: fields expected one level deeper than the step (e.g. ``{"predictions": 1}``).
    input_dimensionality_offsets: ClassVar[dict[str, int]] = {}
    #: the field whose dimensionality is the step's, when offsets differ.
    dimensionality_reference: ClassVar[str | None] = None
    #: True when the block must also run on elements whose inputs are empty (None).
    accepts_empty_values: ClassVar[bool] = False
    #: True for flow-control blocks (their ``run()`` returns ``FlowControl``).
    is_flow_control: ClassVar[bool] = False

    # -- identity ---------------------------------------------------------------------------
    @classmethod
    def type_literals(cls) -> tuple[str, ...]:
        annotation = cls.model_fields["type"].annotation
        values = typing.get_args(annotation)
        if typing.get_origin(annotation) is not typing.Literal or not values:
            raise TypeError(f"{cls.__name__}.type must be a Literal of identifiers")
        return tuple(values)

    @classmethod
    def identifier(cls) -> str:
        return cls.type_literals()[0]

    @classmethod
    def aliases(cls) -> tuple[str, ...]:
        return cls.type_literals()[1:]

    # -- outputs ----------------------------------------------------------------------------
    def get_actual_outputs(self) -> tuple[Output, ...]:
        """Outputs of this step; blocks with configurable outputs override this."""
        return self.outputs

    # -- fields -----------------------------------------------------------------------------
    @classmethod
    def field_specs(cls) -> dict[str, FieldSpec]:
        cached = cls.__dict__.get("_vf_field_specs")
        if cached is None:
            cached = {
                name: _field_spec(name, info.annotation, info.metadata)
                for name, info in cls.model_fields.items()
                if name not in ("type", "name")
            }
            cls._vf_field_specs = cached  # type: ignore[attr-defined]
        return cached


def _field_spec(name: str, annotation: Any, metadata: list[Any]) -> FieldSpec:
    data_kinds: list[str] = []
    accepts_data = False
    accepts_step = False
    accepts_literal = False
    for info in _iter_selector_infos(annotation, metadata):
        if info is None:
            accepts_literal = True
        elif info.points_to == "step":
            accepts_step = True
        else:
            accepts_data = True
            data_kinds.extend(k for k in info.kinds if k not in data_kinds)
    return FieldSpec(
        name=name,
        selector_kinds=tuple(data_kinds) if accepts_data else None,
        accepts_step_selector=accepts_step,
        accepts_literal=accepts_literal,
    )


def _iter_selector_infos(
    annotation: Any, metadata: Sequence[Any] = ()
) -> Iterator[SelectorInfo | None]:
    """Yield the SelectorInfo of every selector reachable in a type; None for literal leaves."""
    for item in metadata:
        if isinstance(item, SelectorInfo):
            yield item
            return
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *extra = typing.get_args(annotation)
        infos = [e for e in extra if isinstance(e, SelectorInfo)]
        if infos:
            yield infos[0]
            return
        yield from _iter_selector_infos(base)
        return
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _iter_selector_infos(arg)
        return
    if origin in (list, tuple, set, frozenset, Sequence, dict, Mapping):
        args = typing.get_args(annotation)
        # dict: values may be selectors; list: elements may be
        value_type = args[-1] if args else Any
        found = list(_iter_selector_infos(value_type))
        if any(f is not None for f in found):
            yield from (f for f in found if f is not None)
        yield None
        return
    if annotation is type(None):
        return
    yield None


# ---------------------------------------------------------------------------------------------
# Runtime values handed to blocks
# ---------------------------------------------------------------------------------------------
class Batch(Sequence[T], Generic[T]):
    """Values of one field for every element a step runs on, with their index tuples."""

    __slots__ = ("_indices", "_values")

    def __init__(self, values: list[T], indices: list[tuple[int, ...]]) -> None:
        self._values = values
        self._indices = indices

    @property
    def indices(self) -> list[tuple[int, ...]]:
        return self._indices

    def __len__(self) -> int:
        return len(self._values)

    @typing.overload
    def __getitem__(self, index: int) -> T: ...

    @typing.overload
    def __getitem__(self, index: slice) -> Batch[T]: ...

    def __getitem__(self, index: int | slice) -> T | Batch[T]:
        if isinstance(index, slice):
            return Batch(self._values[index], self._indices[index])
        return self._values[index]

    def __iter__(self) -> Iterator[T]:
        return iter(self._values)

    def iter_with_indices(self) -> Iterator[tuple[tuple[int, ...], T]]:
        return zip(self._indices, self._values, strict=True)

    def __repr__(self) -> str:
        return f"Batch({self._values!r})"


@dataclass(frozen=True)
class FlowControl:
    """What a flow-control block decides for one element: the steps that may run after it.

    An empty ``next_steps`` ends the branch for that element.
    """

    next_steps: tuple[str, ...] = ()


@dataclass
class BlockContext:
    """What a block instance knows about where it runs."""

    step_name: str
    block_type: str
    init_parameters: Mapping[str, Any] = field(default_factory=dict)


class Block(abc.ABC):
    """Base of every block. Subclasses set ``manifest`` and implement ``run()``.

    ``run()`` receives the step's fields by name. For fields listed in the manifest's
    ``batch_fields`` it receives a ``Batch`` and returns a list of output dicts in the same
    order (a list of lists with ``output_dimensionality_offset`` 1); otherwise it receives one
    element's values and returns one dict (a list of dicts with offset 1). With offset -1 it
    receives the ``Batch`` of one parent's children and returns one dict.
    """

    manifest: ClassVar[type[BlockManifest]]

    def __init__(self, context: BlockContext) -> None:
        self.context = context

    if typing.TYPE_CHECKING:
        # each block names its own fields as parameters: any signature is a valid override
        run: typing.Callable[..., Any]
    else:

        @abc.abstractmethod
        def run(self, **kwargs: Any) -> Any:
            """Compute the step's outputs (see the class docstring for the shapes)."""


__all__ = [
    "Batch",
    "Block",
    "BlockContext",
    "BlockInfo",
    "BlockManifest",
    "DataSelector",
    "FieldSpec",
    "FlowControl",
    "InputSelector",
    "Output",
    "SelectorInfo",
    "StepOutputSelector",
    "StepSelector",
]
