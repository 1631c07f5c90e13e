"""CSV text the way the reference writes it (``pandas.DataFrame(rows).to_csv(index=False)``),
without pandas.

Each column is typed as pandas would infer it from the rows: all integers stay integers,
numbers with gaps or fractions become floats (``1`` is written ``1.0``), booleans without
gaps stay ``True``/``False``, anything else is written with ``str()``; missing values are
empty. Strings that a spreadsheet would run as a formula get a leading quote.

>>> to_csv([{"a": 1, "b": None, "c": "=SUM(A1)"}, {"a": 2, "b": 3, "c": "x, y"}])
'a,b,c\\n1,,\\'=SUM(A1)\\n2,3.0,"x, y"\\n'
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Leading characters that make spreadsheets evaluate a cell (CSV injection).
CSV_INJECTION_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize_csv_injection(value: Any) -> Any:
    """Prefix a quote to strings a spreadsheet would evaluate as formulas."""
    if isinstance(value, str) and value.startswith(CSV_INJECTION_PREFIXES):
        return "'" + value
    return value


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """CSV text (header, one line per row, ``\\n`` line ends) of ``rows``."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [
        _column_cells([neutralize_csv_injection(row.get(column)) for row in rows])
        for column in columns
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*cells, strict=True) if cells else [])
    return buffer.getvalue()


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not _is_bool(value)


def _is_float(value: Any) -> bool:
    return isinstance(value, (float, np.floating))


def _column_cells(values: list[Any]) -> list[str]:
    present = [v for v in values if not _is_missing(v)]
    complete = len(present) == len(values)
    if present and complete and all(_is_bool(v) for v in present):
        return [str(bool(v)) for v in values]
    if present and all(_is_int(v) or _is_float(v) for v in present):
        if complete and all(_is_int(v) for v in present):
            return [str(int(v)) for v in values]
        return _float_cells(values, present)
    return ["" if _is_missing(v) else str(v) for v in values]


def _float_cells(values: list[Any], present: list[Any]) -> list[str]:
    # a column of one narrower numpy float type keeps that type (its shortest repr)
    narrow = {type(v) for v in present} <= {np.float32} or {type(v) for v in present} <= {
        np.float16
    }
    return ["" if _is_missing(v) else (str(v) if narrow else repr(float(v))) for v in values]


__all__ = ["CSV_INJECTION_PREFIXES", "neutralize_csv_injection", "to_csv"]
