"""UQL operations on detections (sv.Detections) and single detections."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import supervision as sv

from visionflow.blocks.query_language import (
    InvalidInputTypeError,
    OperationError,
    UndeclaredSymbolError,
    build_operations_chain,
)

METADATA = {"image_dimensions": np.array([100, 200]), "prediction_type": "object-detection"}


def make_detections(
    boxes: list[list[float]] | None = None,
    confidence: list[float] | None = None,
    class_names: list[str] | None = None,
    **columns: Any,
) -> sv.Detections:
    """Detections the way visionflow builds them: data columns plus image facts in metadata."""
    boxes = boxes or []
    names = class_names if class_names is not None else ["car"] * len(boxes)
    vocabulary = sorted(set(names))
    n = len(boxes)
    data = {
        "class_name": np.array(names, dtype=str),
        "detection_id": np.array([f"d{i}" for i in range(n)], dtype=str),
        "parent_id": np.array(["image"] * n, dtype=str),
        "image_dimensions": np.array([[100, 200]] * n).reshape(n, 2),
        **{key: np.asarray(value) for key, value in columns.items()},
    }
    return sv.Detections(
        xyxy=np.array(boxes, dtype=float).reshape(n, 4),
        confidence=np.array(confidence if confidence is not None else [0.5] * n, dtype=float),
        class_id=np.array([vocabulary.index(name) for name in names], dtype=int),
        data=data,
        metadata=dict(METADATA),
    )


EMPTY = make_detections()
THREE = make_detections(
    boxes=[[10, 10, 30, 50], [100, 20, 120, 40], [50, 60, 90, 80]],
    confidence=[0.9, 0.4, 0.7],
    class_names=["car", "dog", "car"],
)


def run(operations: list[dict], value: Any, parameters: dict | None = None) -> Any:
    return build_operations_chain(operations)(value, parameters or {})


def extract(name: str) -> dict:
    return {"type": "DetectionsPropertyExtract", "property_name": name}


@pytest.mark.parametrize(
    ("detections", "property_name", "expected"),
    [
        (EMPTY, "confidence", []),
        (THREE, "confidence", [0.9, 0.4, 0.7]),
        (THREE, "class_name", ["car", "dog", "car"]),
        (THREE, "class_id", [0, 1, 0]),
        (THREE, "x_min", [10.0, 100.0, 50.0]),
        (THREE, "y_min", [10.0, 20.0, 60.0]),
        (THREE, "x_max", [30.0, 120.0, 90.0]),
        (THREE, "y_max", [50.0, 40.0, 80.0]),
        (THREE, "size", [800.0, 400.0, 800.0]),
        (THREE, "center", [[20, 30], [110, 30], [70, 70]]),
        (THREE, "top_left", [[10, 10], [100, 20], [50, 60]]),
        (THREE, "top_right", [[30, 10], [120, 20], [90, 60]]),
        (THREE, "bottom_left", [[10, 50], [100, 40], [50, 80]]),
        (THREE, "bottom_right", [[30, 50], [120, 40], [90, 80]]),
        (THREE, "image_dimensions", [[100, 200]] * 3),
        (make_detections([[0, 0, 1, 1]], time_in_zone=[2.5]), "time_in_zone", [2.5]),
        (make_detections([[0, 0, 1, 1]], in_out=["in"]), "in_out", ["in"]),
    ],
)
def test_detections_property_extract(
    detections: sv.Detections, property_name: str, expected: list
) -> None:
    assert run([extract(property_name)], detections) == expected


def test_detections_property_extract_tracker_id_prefers_native_field() -> None:
    tracked = make_detections([[0, 0, 1, 1], [1, 1, 2, 2]])
    tracked.tracker_id = np.array([7, 8])
    assert run([extract("tracker_id")], tracked) == [7, 8]


@pytest.mark.parametrize("property_name", ["time_in_zone", "tracker_id", "velocity"])
def test_detections_property_extract_missing_column_is_an_operation_error(
    property_name: str,
) -> None:
    with pytest.raises(OperationError, match=f"`{property_name}` is not available"):
        run([extract(property_name)], THREE)


def test_detections_property_extract_without_class_name_column_gives_empty_list() -> None:
    plain = sv.Detections(xyxy=np.array([[0, 0, 1, 1.0]]), class_id=np.array([3]))
    assert run([extract("class_name")], plain) == []
    with pytest.raises(OperationError, match="confidence"):
        run([extract("confidence")], plain)


def single(name: str) -> dict:
    return {
        "type": "SequenceApply",
        "operations": [{"type": "ExtractDetectionProperty", "property_name": name}],
    }


@pytest.mark.parametrize(
    ("property_name", "expected"),
    [
        ("confidence", [0.9, 0.4, 0.7]),
        ("class_name", ["car", "dog", "car"]),
        ("class_id", [0, 1, 0]),
        ("x_min", [10.0, 100.0, 50.0]),
        ("y_min", [10.0, 20.0, 60.0]),
        ("x_max", [30.0, 120.0, 90.0]),
        ("y_max", [50.0, 40.0, 80.0]),
        ("size", [800.0, 400.0, 800.0]),
        ("center", [(20.0, 30.0), (110.0, 30.0), (70.0, 70.0)]),
        ("top_left", [(10.0, 10.0), (100.0, 20.0), (50.0, 60.0)]),
        ("top_right", [(30.0, 10.0), (120.0, 20.0), (90.0, 60.0)]),
        ("bottom_left", [(10.0, 50.0), (100.0, 40.0), (50.0, 80.0)]),
        ("bottom_right", [(30.0, 50.0), (120.0, 40.0), (90.0, 80.0)]),
        ("image_dimensions", [[100, 200]] * 3),
        ("tracker_id", [None, None, None]),
        ("time_in_zone", [None, None, None]),  # absent column: None, as in the reference
    ],
)
def test_extract_detection_property_on_single_detections(
    property_name: str, expected: list
) -> None:
    assert run([single(property_name)], EMPTY) == []
    result = run([single(property_name)], THREE)
    assert result == expected
    assert all(not isinstance(value, np.generic) for value in result)


def test_extract_detection_property_reads_native_tracker_id() -> None:
    tracked = make_detections([[0, 0, 1, 1]])
    tracked.tracker_id = np.array([42])
    assert run([single("tracker_id")], tracked) == [42]


def test_extract_detection_property_accepts_supervision_tuples() -> None:
    detection = next(iter(THREE))
    chain = build_operations_chain(
        [{"type": "ExtractDetectionProperty", "property_name": "class_name"}]
    )
    assert chain(detection, {}) == "car"


def keep_if(*statements: dict, operator: str = "or") -> dict:
    return {
        "type": "DetectionsFilter",
        "filter_operation": {
            "type": "StatementGroup",
            "operator": operator,
            "statements": list(statements),
        },
    }


def prop_vs(name: str, comparator: str, right: dict) -> dict:
    return {
        "type": "BinaryStatement",
        "left_operand": {
            "type": "DynamicOperand",
            "operand_name": "_",
            "operations": [{"type": "ExtractDetectionProperty", "property_name": name}],
        },
        "comparator": {"type": comparator},
        "right_operand": right,
    }


def static(value: Any) -> dict:
    return {"type": "StaticOperand", "value": value}


@pytest.mark.parametrize(
    ("detections", "operation", "parameters", "expected_ids"),
    [
        (EMPTY, keep_if(prop_vs("confidence", "(Number) >=", static(0.5))), {}, []),
        (THREE, keep_if(prop_vs("confidence", "(Number) >=", static(0.5))), {}, ["d0", "d2"]),
        (THREE, keep_if(prop_vs("class_name", "==", static("dog"))), {}, ["d1"]),
        (
            THREE,
            keep_if(
                prop_vs(
                    "class_name",
                    "in (Sequence)",
                    {"type": "DynamicOperand", "operand_name": "classes"},
                )
            ),
            {"classes": ["dog", "cat"]},
            ["d1"],
        ),
        (
            THREE,
            keep_if(
                prop_vs("confidence", "(Number) >", static(0.5)),
                prop_vs("class_name", "==", static("car")),
                operator="and",
            ),
            {},
            ["d0", "d2"],
        ),
        (
            THREE,
            keep_if(
                prop_vs("confidence", "(Number) <", static(0.5)),
                prop_vs("x_min", "(Number) ==", static(50)),
            ),
            {},
            ["d1", "d2"],
        ),
        (
            THREE,
            keep_if(
                prop_vs(
                    "center",
                    "(Detection) in zone",
                    {"type": "DynamicOperand", "operand_name": "zone"},
                )
            ),
            {"zone": [[0, 0], [95, 0], [95, 100], [0, 100]]},
            ["d0", "d2"],
        ),
    ],
)
def test_detections_filter(
    detections: sv.Detections, operation: dict, parameters: dict, expected_ids: list[str]
) -> None:
    result = run([operation], detections, parameters)
    assert isinstance(result, sv.Detections)
    assert result.data["detection_id"].tolist() == expected_ids
    assert result.metadata["prediction_type"] == "object-detection"  # image facts survive


def test_detections_filter_reports_undeclared_parameters() -> None:
    operation = keep_if(
        prop_vs("class_name", "in (Sequence)", {"type": "DynamicOperand", "operand_name": "nope"})
    )
    with pytest.raises(UndeclaredSymbolError, match="nope"):
        run([operation], THREE)


@pytest.mark.parametrize(
    ("detections", "mode", "expected_ids"),
    [
        (EMPTY, "first", []),
        (EMPTY, "top_confidence", []),
        (THREE, "first", ["d0"]),
        (THREE, "last", ["d2"]),
        (THREE, "left_most", ["d0"]),
        (THREE, "right_most", ["d1"]),
        (THREE, "top_confidence", ["d0"]),
    ],
)
def test_detections_selection(
    detections: sv.Detections, mode: str, expected_ids: list[str]
) -> None:
    result = run([{"type": "DetectionsSelection", "mode": mode}], detections)
    assert result.data["detection_id"].tolist() == expected_ids
    assert result.metadata["prediction_type"] == "object-detection"


@pytest.mark.parametrize(
    ("detections", "mode", "ascending", "expected_ids"),
    [
        (EMPTY, "confidence", True, []),
        (THREE, "confidence", True, ["d1", "d2", "d0"]),
        (THREE, "confidence", False, ["d0", "d2", "d1"]),
        (THREE, "x_min", True, ["d0", "d2", "d1"]),
        (THREE, "x_max", False, ["d1", "d2", "d0"]),
        (THREE, "y_min", True, ["d0", "d1", "d2"]),
        (THREE, "y_max", True, ["d1", "d0", "d2"]),
        (THREE, "size", True, ["d1", "d0", "d2"]),
        (THREE, "center_x", True, ["d0", "d2", "d1"]),
        (THREE, "center_y", False, ["d2", "d1", "d0"]),
    ],
)
def test_sort_detections(
    detections: sv.Detections, mode: str, ascending: bool, expected_ids: list[str]
) -> None:
    operation = {"type": "SortDetections", "mode": mode, "ascending": ascending}
    assert run([operation], detections).data["detection_id"].tolist() == expected_ids


@pytest.mark.parametrize(
    ("detections", "operation", "expected_xyxy"),
    [
        (EMPTY, {"type": "DetectionsOffset", "offset_x": 10, "offset_y": 4}, []),
        (
            THREE,
            {"type": "DetectionsOffset", "offset_x": 10, "offset_y": 4},
            [[5, 8, 35, 52], [95, 18, 125, 42], [45, 58, 95, 82]],
        ),
        (EMPTY, {"type": "DetectionsShift", "shift_x": 5, "shift_y": -5}, []),
        (
            THREE,
            {"type": "DetectionsShift", "shift_x": 5, "shift_y": -5},
            [[15, 5, 35, 45], [105, 15, 125, 35], [55, 55, 95, 75]],
        ),
    ],
)
def test_offset_and_shift(detections: sv.Detections, operation: dict, expected_xyxy: list) -> None:
    before = detections.xyxy.copy()
    result = run([operation], detections)
    assert result.xyxy.tolist() == expected_xyxy
    assert np.array_equal(detections.xyxy, before)  # input untouched
    assert result.data["detection_id"].tolist() == detections.data["detection_id"].tolist()


@pytest.mark.parametrize(
    ("detections", "operation", "parameters", "expected_names", "expected_ids"),
    [
        (EMPTY, {"type": "DetectionsRename", "class_map": {"car": "vehicle"}}, {}, [], []),
        (
            THREE,
            {"type": "DetectionsRename", "class_map": {"car": "vehicle", "dog": "animal"}},
            {},
            ["vehicle", "animal", "vehicle"],
            [1, 0, 1],  # strict: ids are the sorted target names' positions
        ),
        (
            THREE,
            {"type": "DetectionsRename", "class_map": {"dog": "pet"}, "strict": False},
            {},
            ["car", "pet", "car"],
            [0, 1024, 0],
        ),
        (
            THREE,
            {
                "type": "DetectionsRename",
                "class_map": {"dog": "car"},
                "strict": False,
                "new_classes_id_offset": 7,
            },
            {},
            ["car", "car", "car"],
            [0, 0, 0],
        ),
        (
            THREE,
            {"type": "DetectionsRename", "class_map": "mapping", "strict": "is_strict"},
            {"mapping": {"dog": "pet"}, "is_strict": False},
            ["car", "pet", "car"],
            [0, 1024, 0],
        ),
    ],
)
def test_detections_rename(
    detections: sv.Detections,
    operation: dict,
    parameters: dict,
    expected_names: list[str],
    expected_ids: list[int],
) -> None:
    result = run([operation], detections, parameters)
    assert result.data["class_name"].tolist() == expected_names
    assert result.class_id.tolist() == expected_ids
    assert detections.data["class_name"].tolist() == (
        ["car", "dog", "car"] if len(detections) else []
    )


@pytest.mark.parametrize(
    ("operation", "parameters", "error", "fragment"),
    [
        (
            {"type": "DetectionsRename", "class_map": {"car": "v"}},
            {},
            OperationError,
            "'dog' not found",
        ),
        (
            {"type": "DetectionsRename", "class_map": "missing"},
            {},
            UndeclaredSymbolError,
            "missing",
        ),
        (
            {"type": "DetectionsRename", "class_map": "m"},
            {"m": ["x"]},
            InvalidInputTypeError,
            "class_map",
        ),
        (
            {"type": "DetectionsRename", "class_map": {}, "strict": "s"},
            {"s": "yes"},
            InvalidInputTypeError,
            "strict",
        ),
    ],
)
def test_detections_rename_errors(
    operation: dict, parameters: dict, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        run([operation], THREE, parameters)


@pytest.mark.parametrize(
    ("detections", "parent_class", "expected_ids"),
    [
        (EMPTY, "car", []),
        (
            make_detections(
                [[0, 0, 100, 100], [10, 10, 20, 20], [150, 150, 160, 160], [90, 90, 130, 130]],
                class_names=["car", "plate", "plate", "plate"],
            ),
            "car",
            ["d0", "d1"],
        ),
        (
            make_detections(
                [[10, 10, 20, 20], [0, 0, 100, 100], [90, 90, 110, 110]],
                class_names=["plate", "car", "plate"],
            ),
            "car",
            ["d1", "d0", "d2"],  # parents first; a centre on the border counts as inside
        ),
        (THREE, "truck", []),
    ],
)
def test_pick_detections_by_parent_class(
    detections: sv.Detections, parent_class: str, expected_ids: list[str]
) -> None:
    operation = {"type": "PickDetectionsByParentClass", "parent_class": parent_class}
    result = run([operation], detections)
    assert result.data["detection_id"].tolist() == expected_ids
    assert result.metadata["prediction_type"] == "object-detection"


def test_detections_to_dictionary() -> None:
    assert run([{"type": "DetectionsToDictionary"}], EMPTY)["predictions"] == []
    result = run([{"type": "DetectionsToDictionary"}], THREE)
    assert result["image"] == {"width": 200, "height": 100}
    first = result["predictions"][0]
    assert first["x"] == 20 and first["y"] == 30 and first["width"] == 20 and first["height"] == 40
    assert first["class"] == "car" and first["class_id"] == 0 and first["detection_id"] == "d0"
    assert first["confidence"] == pytest.approx(0.9)


def test_sequence_operations_accept_detections() -> None:
    assert run([{"type": "SequenceLength"}], EMPTY) == 0
    assert run([{"type": "SequenceLength"}], THREE) == 3
    chain = [
        extract("class_name"),
        {"type": "SequenceAggregate", "mode": "most_common"},
    ]
    assert run(chain, THREE) == "car"


@pytest.mark.parametrize(
    "operation",
    [
        extract("confidence"),
        {"type": "ExtractDetectionProperty", "property_name": "confidence"},
        keep_if(prop_vs("confidence", "(Number) >", static(0))),
        {"type": "DetectionsSelection", "mode": "first"},
        {"type": "SortDetections", "mode": "confidence"},
        {"type": "DetectionsOffset", "offset_x": 1, "offset_y": 1},
        {"type": "DetectionsShift", "shift_x": 1, "shift_y": 1},
        {"type": "DetectionsRename", "class_map": {}},
        {"type": "PickDetectionsByParentClass", "parent_class": "car"},
        {"type": "DetectionsToDictionary"},
    ],
)
def test_detections_operations_reject_other_values(operation: dict) -> None:
    with pytest.raises(InvalidInputTypeError, match=operation["type"]):
        run([operation], [1, 2, 3])


def test_filter_is_fast_enough_for_the_hot_path() -> None:
    import time

    n = 500
    rng = np.random.default_rng(0)
    boxes = rng.uniform(0, 100, size=(n, 2))
    many = make_detections(
        np.hstack([boxes, boxes + 10]).tolist(), rng.uniform(0, 1, n).tolist(), ["car"] * n
    )
    chain = build_operations_chain([keep_if(prop_vs("confidence", "(Number) >=", static(0.5)))])
    started = time.perf_counter()
    result = chain(many, {})
    elapsed = time.perf_counter() - started
    assert len(result) == int((many.confidence >= 0.5).sum())
    assert elapsed < 0.25  # ~5 µs per detection on a laptop; generous for CI
