"""The workflow document: inputs, steps and outputs (Workflows specification v1).

>>> spec = WorkflowSpec.parse({
...     "version": "1.0",
...     "inputs": [{"type": "WorkflowImage", "name": "image"}],
...     "steps": [],
...     "outputs": [{"type": "JsonField", "name": "img", "selector": "$inputs.image"}],
... })
>>> spec.inputs[0].kind
['image']
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from visionflow.errors import ErrorDetail, SpecError
from visionflow.spec.selectors import NAME_RE, parse_selector


def _check_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(f"'{value}' is not a valid name; use letters, digits, '_' and '-' only")
    return value


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str
    kind: list[str] = Field(default_factory=lambda: ["*"])
    dimensionality: int = 1

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [v.get("name") if isinstance(v, dict) else v for v in value]
        return value

    @property
    def is_batch(self) -> bool:
        return self.dimensionality > 0


class WorkflowImage(_Input):
    """A batch of images; ``InferenceImage`` is the legacy spelling."""

    type: Literal["WorkflowImage", "InferenceImage"]
    kind: list[str] = Field(default_factory=lambda: ["image"])
    dimensionality: int = Field(default=1, ge=1, le=1)


class WorkflowVideoMetadata(_Input):
    """Deprecated: video metadata now travels with each image."""

    type: Literal["WorkflowVideoMetadata"]
    kind: list[str] = Field(default_factory=lambda: ["video_metadata"])
    dimensionality: int = Field(default=1, ge=1, le=1)


class WorkflowBatchInput(_Input):
    """A batch of values of any kind; ``dimensionality`` 2+ means lists of lists."""

    type: Literal["WorkflowBatchInput"]
    dimensionality: int = Field(default=1, ge=1)


class WorkflowParameter(_Input):
    """A scalar value shared by every element; ``InferenceParameter`` is the legacy spelling."""

    type: Literal["WorkflowParameter", "InferenceParameter"]
    default_value: Any = None
    dimensionality: int = Field(default=0, ge=0, le=0)


WorkflowInput = Annotated[
    Union[WorkflowImage, WorkflowVideoMetadata, WorkflowBatchInput, WorkflowParameter],
    Field(discriminator="type"),
]


class CoordinatesSystem(str, Enum):
    PARENT = "parent"
    OWN = "own"


class JsonField(BaseModel):
    """One output of the workflow."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["JsonField"]
    name: str
    selector: str
    coordinates_system: CoordinatesSystem = CoordinatesSystem.PARENT

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value)

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str) -> str:
        selector = parse_selector(value)
        if selector.is_step:
            raise ValueError(
                f"'{value}' names a step, not a value; use '$steps.<step>.<output>' "
                "or '$steps.<step>.*'"
            )
        return value


class StepDefinition(BaseModel):
    """A step as written in the document; its own fields are checked by its block manifest."""

    model_config = ConfigDict(extra="allow")

    type: str
    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value)


class WorkflowSpec(BaseModel):
    """A parsed workflow document (bare or wrapped in ``{"specification": ...}``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: str
    inputs: list[WorkflowInput]
    steps: list[dict[str, Any]]
    outputs: list[JsonField]
    dynamic_blocks_definitions: list[dict[str, Any]] = Field(default_factory=list)
    id: str | None = None

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        parts = value.split(".")
        if not all(p.isdigit() for p in parts) or not 1 <= len(parts) <= 3:
            raise ValueError(f"'{value}' is not a version; expected 'X.Y' such as '1.0'")
        if int(parts[0]) != 1:
            raise ValueError(
                f"version '{value}' asks for Execution Engine {parts[0]}.x; "
                "visionflow implements the 1.x specification (up to 1.15.0)"
            )
        return value

    @classmethod
    def parse(cls, document: Any) -> WorkflowSpec:
        """Validate a document, collecting every schema problem into one ``SpecError``."""
        document = unwrap_document(document)
        details: list[ErrorDetail] = []
        try:
            spec = cls.model_validate(document)
        except ValidationError as error:
            details.extend(validation_error_details(error, code="spec.invalid_field"))
            spec = None
        if isinstance(document, dict):
            details.extend(_step_header_problems(document.get("steps")))
        if details:
            first = details[0]
            summary = (
                first.message
                if len(details) == 1
                else f"the workflow document has {len(details)} problems"
            )
            raise SpecError(summary, code=first.code, loc=first.loc, details=details)
        assert spec is not None
        _check_unique_names(spec)
        return spec

    def input_by_name(self) -> dict[str, Any]:
        return {i.name: i for i in self.inputs}


def unwrap_document(document: Any) -> Any:
    """Accept both the bare definition and the ``{"specification": {...}}`` wrapper."""
    if not isinstance(document, dict):
        raise SpecError(
            f"a workflow document must be a JSON object, got {type(document).__name__}",
            code="spec.not_an_object",
        )
    if "specification" in document and "steps" not in document:
        inner = document["specification"]
        if not isinstance(inner, dict):
            raise SpecError(
                "'specification' must be a JSON object holding the workflow definition",
                code="spec.not_an_object",
                loc="specification",
            )
        return inner
    return document


def json_path(loc: tuple[Any, ...]) -> str:
    """``("steps", 2, "image")`` -> ``steps[2].image``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def validation_error_details(
    error: ValidationError, *, code: str, prefix: tuple[Any, ...] = (), step: str | None = None
) -> list[ErrorDetail]:
    """Turn a pydantic error into details with JSON paths, dropping union-branch noise."""
    details: list[ErrorDetail] = []
    seen: set[str] = set()
    for item in error.errors(include_url=False):
        loc = tuple(
            part
            for part in item["loc"]
            if not (isinstance(part, str) and ("[" in part or part in _UNION_TAGS))
        )
        path = json_path(prefix + loc)
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if item["type"] == "missing":
            message = "field required"
        elif item["type"] == "union_tag_invalid":
            message = (
                f"unknown input type {item.get('input')!r}; expected one of WorkflowImage, "
                "InferenceImage, WorkflowVideoMetadata, WorkflowBatchInput, WorkflowParameter, "
                "InferenceParameter"
            )
        received = item.get("input")
        if item["type"] not in ("missing", "union_tag_invalid") and not isinstance(
            received, (dict, list)
        ):
            message += f" (received {received!r})"
        key = f"{path}:{message}"
        if key in seen:
            continue
        seen.add(key)
        details.append(
            ErrorDetail(
                code=code,
                message=message,
                loc=path,
                step=step,
                property_name=str(loc[0]) if loc else None,
            )
        )
    return details


_UNION_TAGS = {
    "WorkflowImage",
    "InferenceImage",
    "WorkflowVideoMetadata",
    "WorkflowBatchInput",
    "WorkflowParameter",
    "InferenceParameter",
}


def _step_header_problems(steps: Any) -> list[ErrorDetail]:
    if not isinstance(steps, list):
        return []
    problems: list[ErrorDetail] = []
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            problems.append(
                ErrorDetail(
                    code="spec.invalid_step",
                    message=f"a step must be a JSON object, got {type(step).__name__}",
                    loc=f"steps[{index}]",
                )
            )
            continue
        for key in ("type", "name"):
            value = step.get(key)
            if not isinstance(value, str) or not value:
                problems.append(
                    ErrorDetail(
                        code="spec.invalid_step",
                        message=f"every step needs a string '{key}'",
                        loc=f"steps[{index}].{key}",
                        step=step.get("name") if isinstance(step.get("name"), str) else None,
                    )
                )
        name = step.get("name")
        if isinstance(name, str) and name and not NAME_RE.match(name):
            problems.append(
                ErrorDetail(
                    code="spec.invalid_name",
                    message=f"'{name}' is not a valid step name; use letters, digits, '_' and '-'",
                    loc=f"steps[{index}].name",
                    step=name,
                )
            )
    return problems


def _check_unique_names(spec: WorkflowSpec) -> None:
    details: list[ErrorDetail] = []
    for section, names in (
        ("inputs", [i.name for i in spec.inputs]),
        ("steps", [s["name"] for s in spec.steps]),
        ("outputs", [o.name for o in spec.outputs]),
    ):
        seen: dict[str, int] = {}
        for index, name in enumerate(names):
            if name in seen:
                details.append(
                    ErrorDetail(
                        code="spec.duplicate_name",
                        message=(
                            f"name '{name}' is used twice in {section} "
                            f"({section}[{seen[name]}] and {section}[{index}]); names must be unique"
                        ),
                        loc=f"{section}[{index}].name",
                        step=name if section == "steps" else None,
                    )
                )
            else:
                seen[name] = index
    if details:
        first = details[0]
        raise SpecError(first.message, code=first.code, loc=first.loc, details=details)


__all__ = [
    "CoordinatesSystem",
    "JsonField",
    "StepDefinition",
    "WorkflowBatchInput",
    "WorkflowImage",
    "WorkflowInput",
    "WorkflowParameter",
    "WorkflowSpec",
    "WorkflowVideoMetadata",
    "json_path",
    "unwrap_document",
    "validation_error_details",
]
