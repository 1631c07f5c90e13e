"""The one exception tree of visionflow.

Every error has a stable ``code`` (documented under the same heading in ``docs/errors.md``),
a ``loc`` (a JSON path such as ``steps[2].predictions``) where it applies, and a message that
says what was expected, what was received and how to fix it.

>>> try:
...     raise SpecError("field required", code="spec.invalid_field", loc="steps[0].name")
... except VisionflowError as error:
...     print(error.code, error.loc)
spec.invalid_field steps[0].name
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    """One problem found in a document; several may be reported together."""

    code: str
    message: str
    loc: str | None = None
    step: str | None = None
    block_type: str | None = None
    property_name: str | None = None

    def render(self) -> str:
        where = f"{self.loc}: " if self.loc else ""
        return f"{where}{self.message} [{self.code}]"


class VisionflowError(Exception):
    """Base of every error visionflow raises on purpose."""

    default_code = "visionflow.error"
    #: HTTP status the server answers with for this family of errors.
    http_status = 500

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        loc: str | None = None,
        details: list[ErrorDetail] | None = None,
        context: str | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.loc = loc
        self.details: list[ErrorDetail] = list(details or [])
        self.context = context
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.loc}: " if self.loc else ""
        text = f"{where}{self.message} [{self.code}]"
        if len(self.details) > 1:
            text += "".join(f"\n  - {d.render()}" for d in self.details)
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "loc": self.loc,
            "details": [d.__dict__ for d in self.details],
        }


class SpecError(VisionflowError):
    """The document does not follow the schema: a missing field, a bad selector, a bad name."""

    default_code = "spec.invalid"
    http_status = 400


class CompileError(VisionflowError):
    """The document is well formed but cannot be compiled: unknown block, kinds, cycles..."""

    default_code = "compile.invalid"
    http_status = 400


class RuntimeInputError(VisionflowError):
    """A runtime input is missing, malformed or refused."""

    default_code = "input.invalid"
    http_status = 400


class StepExecutionError(VisionflowError):
    """A step failed while running; names the step, its block type and the element."""

    default_code = "step.failed"
    http_status = 500

    def __init__(
        self,
        message: str,
        *,
        step: str,
        block_type: str,
        element: tuple[int, ...] | None = None,
        code: str | None = None,
        inner: BaseException | None = None,
    ) -> None:
        self.step = step
        self.block_type = block_type
        self.element = element
        self.inner = inner
        where = f" on element {list(element)}" if element is not None else ""
        super().__init__(
            f"step '{step}' ({block_type}) failed{where}: {message}",
            code=code,
            loc=f"steps.{step}",
        )


class ModelError(VisionflowError):
    """A model is missing, corrupt, or does not fit the block that uses it."""

    default_code = "model.error"
    http_status = 400


class SourceError(VisionflowError):
    """An image or video source cannot be read."""

    default_code = "source.error"
    http_status = 400


@dataclass
class _Collector:
    """Gathers several problems of one document so they are reported together."""

    details: list[ErrorDetail] = field(default_factory=list)

    def add(self, detail: ErrorDetail) -> None:
        self.details.append(detail)

    def raise_if_any(self, cls: type[VisionflowError], summary: str) -> None:
        if not self.details:
            return
        first = self.details[0]
        if len(self.details) == 1:
            raise cls(first.message, code=first.code, loc=first.loc, details=self.details)
        raise cls(
            f"{summary}: {len(self.details)} problems",
            code=first.code,
            loc=first.loc,
            details=self.details,
        )


__all__ = [
    "CompileError",
    "ErrorDetail",
    "ModelError",
    "RuntimeInputError",
    "SourceError",
    "SpecError",
    "StepExecutionError",
    "VisionflowError",
]
