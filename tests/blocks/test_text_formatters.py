"""csv_formatter, json_parser, string_template and current_time."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import visionflow
from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.formatters._csv_text import to_csv
from visionflow.blocks.formatters.text import (
    ALLOWED_TIMEZONES,
    CSVFormatterBlock,
    CSVFormatterManifest,
    CurrentTimeBlock,
    CurrentTimeManifest,
    JSONParserManifest,
    StringTemplateBlock,
    TemplateError,
    current_time,
    parse_json_fields,
    render_template,
)

TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00"


# -- csv ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([{"a": ""}], 'a\n""\n'),  # a lone empty cell is quoted, as csv writers do
        ([{"a": 1}, {"a": 2}], "a\n1\n2\n"),
        ([{"a": 1}, {"a": None}], 'a\n1.0\n""\n'),  # gaps make numbers floats (pandas)
        ([{"a": 1}, {"a": 2.5}], "a\n1.0\n2.5\n"),
        ([{"a": True, "b": None}, {"a": None, "b": None}], "a,b\nTrue,\n,\n"),
        ([{"a": 1}, {"a": True}], "a\n1\nTrue\n"),
        ([{"a": np.float32(0.1)}], "a\n0.1\n"),
        ([{"a": ["x", 1]}, {"a": {"k": 1}}], "a\n\"['x', 1]\"\n{'k': 1}\n"),
        ([{"a": "-3"}, {"a": "@x"}, {"a": 'say "hi"'}], 'a\n\'-3\n\'@x\n"say ""hi"""\n'),
        ([{"a": 1e20, "b": 1 / 3}], "a,b\n1e+20,0.3333333333333333\n"),
    ],
)
def test_to_csv_writes_like_pandas(rows: list[dict[str, Any]], expected: str) -> None:
    assert to_csv(rows) == expected


def _csv_block() -> CSVFormatterBlock:
    return CSVFormatterBlock(BlockContext("csv", "roboflow_core/csv_formatter@v1"))


@pytest.mark.parametrize(
    ("rows", "expected_lines"),
    [
        ([], None),  # no element: no output
        ([{"x": 1}], ["x,timestamp", f"1,{TIMESTAMP}"]),
        (
            [{"x": 1, "y": "a"}, {"x": 2, "y": "b"}],
            ["x,y,timestamp", f"1,a,{TIMESTAMP}", f"2,b,{TIMESTAMP}"],
        ),
    ],
)
def test_csv_formatter_text_on_last_element(
    rows: list[dict[str, Any]], expected_lines: list[str] | None
) -> None:
    results = _csv_block().run(
        columns_data=Batch(rows, [(i,) for i in range(len(rows))]), columns_operations={}
    )
    if expected_lines is None:
        assert results == []
        return
    assert [r["csv_content"] for r in results[:-1]] == [None] * (len(rows) - 1)
    assert re.fullmatch("\n".join(expected_lines) + "\n", results[-1]["csv_content"])


def test_csv_formatter_operations_and_errors() -> None:
    operations = {"names": [{"type": "SequenceLength"}]}
    manifest = CSVFormatterManifest.model_validate(
        {
            "type": "roboflow_core/csv_formatter@v1",
            "name": "csv",
            "columns_data": {"names": "$inputs.names"},
            "columns_operations": operations,
        }
    )
    (result,) = _csv_block().run(
        columns_data=Batch([{"names": ["a", "b"]}], [()]),
        columns_operations=manifest.columns_operations,
    )
    assert result["csv_content"].startswith("names,timestamp\n2,")
    with pytest.raises(ValueError, match="not declared"):
        _csv_block().run(
            columns_data=Batch([{"a": 1}], [()]),
            columns_operations=manifest.columns_operations,
        )


@pytest.mark.parametrize("field", ["columns_data", "columns_operations"])
def test_csv_timestamp_column_is_reserved(field: str) -> None:
    fields: dict[str, Any] = {
        "columns_data": {"a": 1},
        field: {"timestamp": 1 if field == "columns_data" else []},
    }
    with pytest.raises(ValidationError, match="reserved"):
        CSVFormatterManifest.model_validate(
            {"type": "roboflow_core/csv_formatter@v1", "name": "csv", **fields}
        )


# -- json_parser ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "fields", "expected"),
    [
        ("", ["a"], (True, {"a": None})),  # empty text
        ('{"a": 1, "b": [2]}', ["a", "b"], (False, {"a": 1, "b": [2]})),
        ('{"a": 1}', ["a", "b"], (True, {"a": 1, "b": None})),
        ('text ```JSON\n{"a": 1}\n``` ```json {"a": 2} ```', ["a"], (False, {"a": 1})),
        ("[1, 2]", ["a"], (True, {"a": None})),
        ("[1, 2]", [], (False, {})),
        ("{broken", [], (True, {})),
        (None, ["a"], (True, {"a": None})),
    ],
)
def test_parse_json_fields(
    raw: Any, fields: list[str], expected: tuple[bool, dict[str, Any]]
) -> None:
    assert parse_json_fields(raw, fields) == expected


def test_json_parser_outputs_follow_expected_fields() -> None:
    manifest = JSONParserManifest.model_validate(
        {
            "type": "roboflow_core/json_parser@v1",
            "name": "p",
            "raw_json": "$inputs.t",
            "expected_fields": ["a", "b"],
        }
    )
    assert [o.name for o in manifest.get_actual_outputs()] == ["error_status", "a", "b"]
    with pytest.raises(ValidationError, match="reserved"):
        JSONParserManifest.model_validate(
            {
                "type": "roboflow_core/json_parser@v1",
                "name": "p",
                "raw_json": "{}",
                "expected_fields": ["error_status"],
            }
        )


# -- string_template ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "variables", "expected"),
    [
        ("", {}, ""),  # empty template
        ("{a} and {b}", {"a": 1, "b": "two"}, "1 and two"),
        ("{x:>{width}}|", {"x": "ab", "width": 4}, "  ab|"),
        ("{{literal}} {a:.1f}", {"a": 0.25}, "{literal} 0.2"),
        ("{a}", {"a": [1, 2]}, "[1, 2]"),
    ],
)
def test_render_template(template: str, variables: dict[str, Any], expected: str) -> None:
    assert render_template(template, variables) == expected


@pytest.mark.parametrize(
    ("template", "variables", "message"),
    [
        ("{missing}", {}, "not declared"),
        ("{}", {}, "positional"),
        ("{0}", {}, "positional"),
        ("{a.b}", {"a": 1}, "attributes"),
        ("{a[0]}", {"a": [1]}, "attributes"),
        ("{a", {"a": 1}, "parse"),
        ("{a:d}", {"a": "text"}, "render"),
        ("{a:>20000}", {"a": 1}, "at most"),
        ("{a:>{w}}", {"a": 1, "w": 99999}, "at most"),
    ],
)
def test_render_template_errors(template: str, variables: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        render_template(template, variables)


def test_string_template_block_applies_operations() -> None:
    block = StringTemplateBlock(BlockContext("t", "roboflow_core/string_template@v1"))
    operations = {"names": [{"type": "SequenceJoin", "separator": ", "}]}
    from visionflow.blocks.formatters.text import StringTemplateManifest

    manifest = StringTemplateManifest.model_validate(
        {
            "type": "roboflow_core/string_template@v1",
            "name": "t",
            "template": "x",
            "data_operations": operations,
        }
    )
    result = block.run(
        template="Find {names}.",
        data={"names": ["a", "b"]},
        data_operations=manifest.data_operations,
    )
    assert result == {"output": "Find a, b."}
    with pytest.raises(TemplateError, match="string"):
        block.run(template=3, data={}, data_operations={})


# -- current_time ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tz_name", "expected"),
    [
        ("UTC", ("2024-01-02T03:04:05+00:00", "2024-01-02", "03:04:05")),
        ("Asia/Kathmandu", ("2024-01-02T08:49:05+05:45", "2024-01-02", "08:49:05")),
        ("Etc/GMT+12", ("2024-01-01T15:04:05-12:00", "2024-01-01", "15:04:05")),
    ],
)
def test_current_time_in_zone(tz_name: str, expected: tuple[str, str, str]) -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    result = current_time(tz_name, now=moment)
    assert (result["iso_string"], result["date"], result["time"]) == expected
    assert result["timestamp"] == moment


def test_current_time_refuses_other_zones_and_defaults_to_utc() -> None:
    assert len(ALLOWED_TIMEZONES) == 55
    with pytest.raises(ValueError, match="unsupported timezone"):
        current_time("Mars/Olympus")
    with pytest.raises(ValidationError):
        CurrentTimeManifest.model_validate(
            {"type": "roboflow_core/current_time@v1", "name": "t", "timezone": "Europe/Paris"}
        )
    result = CurrentTimeBlock(BlockContext("t", "roboflow_core/current_time@v1")).run()
    assert result["timestamp"].utcoffset().total_seconds() == 0


def test_current_time_serializes_timestamp_as_iso() -> None:
    (result,) = visionflow.Workflow.load(
        {
            "version": "1.0",
            "inputs": [],
            "steps": [{"type": "roboflow_core/current_time@v1", "name": "now"}],
            "outputs": [{"type": "JsonField", "name": "now", "selector": "$steps.now.*"}],
        }
    ).run(serialize=True)
    assert result["now"]["timestamp"] == result["now"]["iso_string"]
    assert re.fullmatch(r"\d\d:\d\d:\d\d", result["now"]["time"])
