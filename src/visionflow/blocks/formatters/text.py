"""Text formatters: CSV rows (``csv_formatter``), JSON fields (``json_parser``), string
templates (``string_template``) and the current time (``current_time``).

>>> render_template("{n} dogs", {"n": 3})
'3 dogs'
>>> parse_json_fields('```json {"a": 1} ```', ["a", "b"])
(True, {'a': 1, 'b': None})
"""

from __future__ import annotations

import json
import logging
import re
import string
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Literal, Union
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from visionflow.blocks._uql_cache import CompiledCache
from visionflow.blocks.base import (
    Batch,
    Block,
    BlockContext,
    BlockInfo,
    BlockManifest,
    DataSelector,
    Output,
)
from visionflow.blocks.formatters._csv_text import to_csv
from visionflow.blocks.query_language import AllOperationsType, build_operations_chain
from visionflow.blocks.registry import register_block
from visionflow.spec.kinds import (
    BOOLEAN_KIND,
    LANGUAGE_MODEL_OUTPUT_KIND,
    STRING_KIND,
    TIMESTAMP_KIND,
)

logger = logging.getLogger(__name__)


def _apply_operations(
    chains: CompiledCache[Any],
    values: dict[str, Any],
    operations: dict[str, list[Any]],
    what: str,
) -> dict[str, Any]:
    """``values`` with each named value passed through its operations chain."""
    result = dict(values)
    for name, chain_definition in operations.items():
        if name not in result:
            raise ValueError(
                f"{what} defines operations for `{name}`, which is not declared; declared: "
                f"{sorted(result)}"
            )
        result[name] = chains.get(chain_definition)(result[name], {})
    return result


# ---------------------------------------------------------------------------------------------
# roboflow_core/csv_formatter@v1
# ---------------------------------------------------------------------------------------------
TIMESTAMP_COLUMN = "timestamp"


def _no_timestamp_column(value: dict[str, Any]) -> dict[str, Any]:
    if TIMESTAMP_COLUMN in value:
        raise ValueError(
            f"`{TIMESTAMP_COLUMN}` is a reserved column (the formatter adds it); rename yours"
        )
    return value


class CSVFormatterManifest(BlockManifest):
    type: Literal["roboflow_core/csv_formatter@v1"]
    columns_data: dict[str, Union[DataSelector(), str, int, float, bool]] = Field(
        description="Columns of the CSV: name -> selector or literal value.",
        examples=[{"predictions": "$steps.model.predictions", "reference": "$inputs.classes"}],
    )
    columns_operations: dict[str, list[AllOperationsType]] = Field(
        default_factory=dict,
        description="Operations applied to a column's value before it is written.",
        examples=[
            {"predictions": [{"type": "DetectionsPropertyExtract", "property_name": "class_name"}]}
        ],
    )

    @field_validator("columns_data", "columns_operations")
    @classmethod
    def _check_reserved(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _no_timestamp_column(value)

    block_info = BlockInfo(
        name="CSV Formatter",
        short="Format values as CSV text: a row per image, plus a UTC timestamp column.",
        category="formatter",
    )
    outputs = (Output("csv_content", STRING_KIND),)
    batch_fields = ("columns_data",)


@register_block
class CSVFormatterBlock(Block):
    """One CSV row per element (columns in order, then ``timestamp``).

    Like the reference, the whole text is the ``csv_content`` of the batch's last element;
    the others get None.
    """

    manifest = CSVFormatterManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        self._chains: CompiledCache[Any] = CompiledCache(build_operations_chain)

    def run(
        self, columns_data: Batch[dict[str, Any]], columns_operations: dict[str, list[Any]]
    ) -> list[dict[str, Any]]:
        if not columns_data:
            return []
        rows = []
        for values in columns_data:
            row = _apply_operations(self._chains, values, columns_operations, "csv_formatter")
            row[TIMESTAMP_COLUMN] = datetime.now(tz=timezone.utc).isoformat()
            rows.append(row)
        results: list[dict[str, Any]] = [{"csv_content": None} for _ in rows[:-1]]
        results.append({"csv_content": to_csv(rows)})
        return results


# ---------------------------------------------------------------------------------------------
# roboflow_core/json_parser@v1
# ---------------------------------------------------------------------------------------------
ERROR_STATUS = "error_status"
JSON_MARKDOWN_BLOCK = re.compile(r"```json([\s\S]*?)```", flags=re.IGNORECASE)


def parse_json_fields(raw_json: Any, expected_fields: Sequence[str]) -> tuple[bool, dict[str, Any]]:
    """(error, field values) of a JSON object, or of the first ```json block in the text.

    Missing fields are None and set the error flag; text that is not a JSON object gives
    None everywhere (an error unless no field was asked for).
    """
    if not isinstance(raw_json, str):
        return True, {name: None for name in expected_fields}
    blocks = JSON_MARKDOWN_BLOCK.findall(raw_json)
    content = blocks[0] if blocks else raw_json
    try:
        parsed = json.loads(content)
    except ValueError as error:
        logger.warning("json_parser: could not parse JSON (%s: %s)", type(error).__name__, error)
        return True, {name: None for name in expected_fields}
    if not isinstance(parsed, dict):
        return bool(expected_fields), {name: None for name in expected_fields}
    values = {name: parsed.get(name) for name in expected_fields}
    return not all(name in parsed for name in expected_fields), values


def _no_error_status_field(fields: list[str]) -> list[str]:
    if ERROR_STATUS in fields:
        raise ValueError(f"`{ERROR_STATUS}` is reserved for the parser's own output")
    return fields


class JSONParserManifest(BlockManifest):
    type: Literal["roboflow_core/json_parser@v1"]
    raw_json: Union[DataSelector(LANGUAGE_MODEL_OUTPUT_KIND), str] = Field(
        description="JSON text, or text holding a ```json block (the first one is read).",
        examples=["$steps.lmm.output", '{"key": "value"}'],
    )
    expected_fields: list[str] = Field(
        description="Fields of the JSON object to output, one output each.",
        examples=[["field_a", "field_b"]],
    )

    @field_validator("expected_fields")
    @classmethod
    def _check_reserved(cls, value: list[str]) -> list[str]:
        return _no_error_status_field(value)

    block_info = BlockInfo(
        name="JSON Parser",
        short="Read fields of a JSON object (e.g. an LLM answer) as separate outputs.",
        category="formatter",
    )
    outputs = (Output(ERROR_STATUS, BOOLEAN_KIND), Output("*"))

    def get_actual_outputs(self) -> tuple[Output, ...]:
        return (Output(ERROR_STATUS, BOOLEAN_KIND), *(Output(f) for f in self.expected_fields))


@register_block
class JSONParserBlock(Block):
    """One output per expected field, plus ``error_status`` (unparsable or a field missing)."""

    manifest = JSONParserManifest

    def run(self, raw_json: str, expected_fields: list[str]) -> dict[str, Any]:
        error, values = parse_json_fields(raw_json, expected_fields)
        values[ERROR_STATUS] = error
        return values


# ---------------------------------------------------------------------------------------------
# roboflow_core/string_template@v1
# ---------------------------------------------------------------------------------------------
#: Largest width or precision a placeholder may ask for (guards memory).
MAX_FORMAT_SPEC_NUMBER = 10_000
MAX_RENDERED_TEMPLATE_LENGTH = 1_000_000


class TemplateError(ValueError):
    """A template that cannot be rendered with the given variables."""


class _LimitedFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        # runs after nested fields such as ``{value:{width}}`` were substituted
        for digits in re.findall(r"\d+", format_spec):
            if int(digits) > MAX_FORMAT_SPEC_NUMBER:
                raise TemplateError(
                    f"format spec `{format_spec}` asks for {digits} characters; at most "
                    f"{MAX_FORMAT_SPEC_NUMBER} are allowed"
                )
        return super().format_field(value, format_spec)


def template_placeholders(template: str) -> set[str]:
    """Names of the template's placeholders (also inside format specs)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise TemplateError(
            f"could not parse the template: {error}; write {{{{ and }}}} for literal braces"
        ) from error
    names: set[str] = set()
    for _, field, spec, _ in parsed:
        if field is None:
            continue
        if field == "" or field.isdigit():
            raise TemplateError(
                "positional placeholders are not supported: name them, e.g. `{variable}`"
            )
        if "." in field or "[" in field:
            raise TemplateError(
                f"placeholders cannot access attributes or items (got `{{{field}}}`); extract "
                "the value with data_operations first"
            )
        names.add(field)
        if spec and "{" in spec:
            names |= template_placeholders(spec)
    return names


def render_template(template: str, variables: dict[str, Any]) -> str:
    """``template`` with its named placeholders filled from ``variables``."""
    missing = template_placeholders(template) - set(variables)
    if missing:
        raise TemplateError(
            f"the template uses {sorted(missing)}, which are not declared in data; declared: "
            f"{sorted(variables)}"
        )
    try:
        rendered = _LimitedFormatter().vformat(template, (), variables)
    except TemplateError:
        raise
    except (ValueError, TypeError) as error:
        raise TemplateError(
            f"could not render the template: {error}; check that format specs suit the "
            "values' types"
        ) from error
    if len(rendered) > MAX_RENDERED_TEMPLATE_LENGTH:
        raise TemplateError(
            f"the rendered text has {len(rendered)} characters; at most "
            f"{MAX_RENDERED_TEMPLATE_LENGTH} are allowed"
        )
    return rendered


class StringTemplateManifest(BlockManifest):
    type: Literal["roboflow_core/string_template@v1"]
    template: Union[DataSelector(STRING_KIND), str] = Field(
        description="Text with named `{placeholders}`; `{{` and `}}` are literal braces.",
        examples=["Which of {sku_list} is this? Answer NONE if none.", "$inputs.prompt"],
    )
    data: dict[str, Union[DataSelector(), str, int, float, bool]] = Field(
        default_factory=dict,
        description="Variables of the template: name -> selector or literal.",
        examples=[{"sku_list": "$inputs.expected_skus"}],
    )
    data_operations: dict[str, list[AllOperationsType]] = Field(
        default_factory=dict,
        description="Operations applied to a variable before it is substituted.",
        examples=[{"sku_list": [{"type": "SequenceJoin", "separator": ", "}]}],
    )

    block_info = BlockInfo(
        name="String Template",
        short="Build text from a template and values (e.g. a prompt for a VLM).",
        category="formatter",
    )
    outputs = (Output("output", STRING_KIND),)


@register_block
class StringTemplateBlock(Block):
    """``output`` = ``template`` rendered with ``data`` (after ``data_operations``)."""

    manifest = StringTemplateManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        self._chains: CompiledCache[Any] = CompiledCache(build_operations_chain)

    def run(
        self, template: Any, data: dict[str, Any], data_operations: dict[str, list[Any]]
    ) -> dict[str, Any]:
        if not isinstance(template, str):
            raise TemplateError(f"the template must be a string, got {type(template).__name__}")
        variables = _apply_operations(self._chains, data, data_operations, "string_template")
        return {"output": render_template(template, variables)}


# ---------------------------------------------------------------------------------------------
# roboflow_core/current_time@v1
# ---------------------------------------------------------------------------------------------
#: The time zones the reference offers (IANA names), west to east.
ALLOWED_TIMEZONES = (
    "Etc/GMT+12", "Pacific/Pago_Pago", "Pacific/Honolulu", "Pacific/Marquesas",
    "America/Anchorage", "Pacific/Gambier", "America/Los_Angeles", "America/Denver",
    "America/Phoenix", "America/Chicago", "America/Mexico_City", "America/New_York",
    "America/Bogota", "America/Halifax", "America/Puerto_Rico", "America/St_Johns",
    "America/Sao_Paulo", "Atlantic/South_Georgia", "Atlantic/Azores", "Atlantic/Cape_Verde",
    "UTC", "Europe/London", "Europe/Berlin", "Africa/Lagos", "Europe/Kyiv", "Africa/Cairo",
    "Africa/Johannesburg", "Europe/Moscow", "Europe/Istanbul", "Africa/Nairobi",
    "Asia/Tehran", "Asia/Dubai", "Asia/Kabul", "Asia/Karachi", "Asia/Kolkata",
    "Asia/Kathmandu", "Asia/Dhaka", "Asia/Yangon", "Asia/Bangkok", "Asia/Shanghai",
    "Australia/Eucla", "Asia/Tokyo", "Australia/Darwin", "Australia/Adelaide",
    "Australia/Sydney", "Pacific/Port_Moresby", "Australia/Lord_Howe", "Pacific/Guadalcanal",
    "Pacific/Norfolk", "Pacific/Fiji", "Pacific/Auckland", "Pacific/Chatham",
    "Pacific/Tongatapu", "Pacific/Apia", "Pacific/Kiritimati",
)  # fmt: skip
_ALLOWED_TIMEZONE_SET = frozenset(ALLOWED_TIMEZONES)

TimezoneName = Literal[ALLOWED_TIMEZONES]  # type: ignore[valid-type]


def current_time(tz_name: str, now: datetime | None = None) -> dict[str, Any]:
    """The outputs of ``current_time`` for ``tz_name`` (``now`` given: that instant instead)."""
    if tz_name not in _ALLOWED_TIMEZONE_SET:
        raise ValueError(
            f"unsupported timezone {tz_name!r}; use one of: {', '.join(ALLOWED_TIMEZONES)}"
        )
    zone = ZoneInfo(tz_name)
    moment = datetime.now(zone) if now is None else now.astimezone(zone)
    return {
        "timestamp": moment,
        "iso_string": moment.isoformat(),
        "date": moment.strftime("%Y-%m-%d"),
        "time": moment.strftime("%H:%M:%S"),
    }


class CurrentTimeManifest(BlockManifest):
    type: Literal["roboflow_core/current_time@v1"]
    timezone: Union[TimezoneName, DataSelector(STRING_KIND)] = Field(
        default="UTC",
        description="IANA name of the time zone to report the time in.",
        examples=["UTC", "America/New_York", "$inputs.timezone"],
    )

    block_info = BlockInfo(
        name="Current Time",
        short="The current date and time in a time zone.",
        category="formatter",
    )
    outputs = (
        Output("timestamp", TIMESTAMP_KIND),
        Output("iso_string", STRING_KIND),
        Output("date", STRING_KIND),
        Output("time", STRING_KIND),
    )


@register_block
class CurrentTimeBlock(Block):
    """``timestamp`` (a datetime), ``iso_string``, ``date`` (Y-m-d) and ``time`` (H:M:S)."""

    manifest = CurrentTimeManifest

    def run(self, timezone: str = "UTC") -> dict[str, Any]:
        return current_time(timezone)


__all__ = [
    "ALLOWED_TIMEZONES",
    "CSVFormatterBlock",
    "CSVFormatterManifest",
    "CurrentTimeBlock",
    "CurrentTimeManifest",
    "JSONParserBlock",
    "JSONParserManifest",
    "StringTemplateBlock",
    "StringTemplateManifest",
    "TemplateError",
    "current_time",
    "parse_json_fields",
    "render_template",
    "template_placeholders",
]
