"""detections_difference, detections_list_rollup and overlap_analysis."""

from __future__ import annotations

import numpy as np
import pytest

from visionflow.blocks.base import BlockContext
from visionflow.blocks.fusion import _polygons
from visionflow.blocks.fusion.detections_analysis import (
    DetectionsListRollUpBlock,
    detections_difference,
    greedy_match,
    overlap_records,
)
from visionflow.blocks.registry import default_registry
from visionflow.data.detections import make_detections
from visionflow.data.image import Image

IMAGE = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")


def _boxes(
    boxes: list[list[float]],
    names: list[str] | None = None,
    prefix: str = "d",
    image: Image = IMAGE,
):
    names = names or ["a"] * len(boxes)
    vocabulary = ["a", "b", "cat", "dog"]
    return make_detections(
        np.array(boxes, dtype=float).reshape(-1, 4),
        [0.9] * len(boxes),
        [vocabulary.index(n) for n in names],
        vocabulary,
        image,
        data={
            "class_name": np.array(names, dtype=str),
            "detection_id": np.array([f"{prefix}{i}" for i in range(len(boxes))], dtype=str),
        },
    )


@pytest.mark.parametrize(
    "identifier",
    [
        "DetectionsDifference",
        "DetectionsListRollUp",
        "OverlapAnalysis",
        "roboflow_core/detections_difference@v1",
        "roboflow_core/detections_list_rollup@v1",
        "roboflow_core/overlap_analysis@v1",
    ],
)
def test_registered(identifier: str) -> None:
    assert default_registry.get(identifier).identifier.startswith("roboflow_core/")


# -- detections_difference -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("before", "after", "options", "removed", "persisted", "new", "verified"),
    [
        ([], [], {}, [], [], [], False),
        ([[0, 0, 10, 10]], [], {}, ["b0"], [], [], True),
        ([], [[0, 0, 10, 10]], {}, [], [], ["a0"], False),
        # a slightly moved box persists; a far one is removed and a new one appears
        (
            [[0, 0, 10, 10], [100, 0, 110, 10]],
            [[1, 0, 11, 10], [100, 80, 110, 90]],
            {},
            ["b1"],
            ["a0"],
            ["a1"],
            True,
        ),
        # disjoint but close boxes still match when cheap enough
        ([[0, 0, 10, 10]], [[12, 0, 22, 10]], {"reject_cost": 0.8}, [], ["a0"], [], False),
        ([[0, 0, 10, 10]], [[1, 0, 11, 10]], {"min_removed_to_verify": 2}, [], ["a0"], [], False),
    ],
)
def test_difference(
    before: list,
    after: list,
    options: dict,
    removed: list,
    persisted: list,
    new: list,
    verified: bool,
) -> None:
    result = detections_difference(_boxes(before, prefix="b"), _boxes(after, prefix="a"), **options)
    for key, expected in (("removed", removed), ("persisted", persisted), ("new", new)):
        detections = result[f"{key}_detections"]
        assert detections.data["detection_id"].tolist() == expected
        assert detections.metadata["image_dimensions"] == [100, 200]
    assert (result["removed_count"], result["new_count"], result["verified"]) == (
        len(removed),
        len(new),
        verified,
    )


@pytest.mark.parametrize(("strict", "matched"), [(False, True), (True, False)])
def test_difference_classes(strict: bool, matched: bool) -> None:
    result = detections_difference(
        _boxes([[0, 0, 10, 10]], ["cat"]), _boxes([[0, 0, 10, 10]], ["dog"]), class_strict=strict
    )
    assert (result["removed_count"] == 0) is matched


def test_greedy_match_takes_cheapest_first() -> None:
    costs = np.array([[0.1, 0.05], [0.2, 0.9]])
    assert greedy_match(costs, 0.5) == [(0, 1), (1, 0)]
    assert greedy_match(np.empty((0, 2)), 0.5) == []


# -- overlap_analysis ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reference", "candidate", "min_overlap", "expected"),
    [
        ([], [[0, 0, 10, 10]], 0.1, []),
        ([[0, 0, 10, 10]], [[5, 0, 15, 10]], 0.1, [("r0", "c0", 0.5)]),
        ([[0, 0, 10, 10]], [[5, 0, 15, 10]], 0.6, []),
        ([[0, 0, 10, 10]], [[20, 0, 30, 10]], 0.0, []),
        (
            [[0, 0, 10, 10], [0, 0, 20, 20]],
            [[0, 0, 10, 10]],
            0.1,
            [("r0", "c0", 1.0), ("r1", "c0", 0.25)],
        ),
    ],
)
def test_overlap_boxes(
    reference: list, candidate: list, min_overlap: float, expected: list
) -> None:
    records = overlap_records(
        _boxes(reference, prefix="r"), _boxes(candidate, prefix="c"), min_overlap
    )
    assert [
        (r["reference_detection_id"], r["candidate_detection_id"], round(r["overlap_ratio"], 6))
        for r in records
    ] == expected
    for record in records:
        assert record["reference_class"] == "a" and record["candidate_confidence"] == 0.9


def test_overlap_uses_mask_outlines() -> None:
    reference = _boxes([[0, 0, 40, 40]], prefix="r")
    mask = np.zeros((1, 100, 200), dtype=bool)
    mask[0, 0:40, 0:10] = True  # an L: a bar on the left and one at the bottom
    mask[0, 30:40, 0:40] = True
    reference.mask = mask
    candidate = _boxes([[20, 0, 40, 20]], prefix="c")  # covers the box but not the L
    assert overlap_records(reference, candidate, 0.01) == []
    # a zero ratio still passes a zero threshold, as in the reference
    assert [r["overlap_ratio"] for r in overlap_records(reference, candidate, 0.0)] == [0.0]


def test_polygon_intersections() -> None:
    ell = np.array([[0, 0], [10, 0], [10, 2], [2, 2], [2, 10], [0, 10]], dtype=float)
    assert _polygons.area(ell) == 36.0
    assert _polygons.is_simple(ell)
    assert not _polygons.is_simple(np.array([[0, 0], [2, 2], [2, 0], [0, 2]], dtype=float))
    square = _polygons.box_polygon(0, 0, 5, 5)
    assert _polygons.intersection_area(ell, square, convex=(False, True)) == pytest.approx(16.0)
    assert _polygons.intersection_area(ell, ell[::-1], convex=(False, False)) == pytest.approx(36.0)
    assert sum(_polygons.area(t) for t in _polygons.triangulate(ell)) == pytest.approx(36.0)


# -- detections_list_rollup ----------------------------------------------------------------------
def _children_of(parents, boxes_per_parent: list[list[list[float]]], names: list[list[str]]):
    children = []
    for k, boxes in enumerate(boxes_per_parent):
        x1, y1, x2, y2 = (int(v) for v in parents.xyxy[k])
        crop = IMAGE.crop(x1, y1, x2, y2, crop_id=f"p{k}")
        children.append(_boxes(boxes, names[k], prefix=f"c{k}-", image=crop))
    return children


@pytest.mark.parametrize(
    ("parent_boxes", "child_boxes", "names", "strategy", "expected"),
    [
        ([], [], [], "max", []),
        ([[10, 10, 50, 50]], [[]], [[]], "max", []),
        # two crops see the same object: merged into the enclosing box
        (
            [[10, 10, 60, 60], [40, 10, 90, 60]],
            [[[20, 5, 40, 25]], [[0, 5, 22, 25]]],
            [["a"], ["a"]],
            "max",
            [([30, 15, 62, 35], "a")],
        ),
        # different classes never merge
        (
            [[10, 10, 60, 60], [40, 10, 90, 60]],
            [[[20, 5, 40, 25]], [[0, 5, 22, 25]]],
            [["a"], ["b"]],
            "mean",
            [([30, 15, 50, 35], "a"), ([40, 15, 62, 35], "b")],
        ),
    ],
)
def test_rollup(
    parent_boxes: list, child_boxes: list, names: list, strategy: str, expected: list
) -> None:
    parents = _boxes(parent_boxes, prefix="p")
    children = _children_of(parents, child_boxes, names)
    block = DetectionsListRollUpBlock(BlockContext("r", "DetectionsListRollUp"))
    result = block.run(
        parent_detection=parents, child_detections=children, confidence_strategy=strategy
    )
    rolled = result["rolled_up_detections"]
    assert [
        (box, name)
        for box, name in zip(rolled.xyxy.tolist(), rolled.data["class_name"].tolist(), strict=True)
    ] == [(list(map(float, b)), n) for b, n in expected]
    if not expected:  # no boxes, but the image is still known
        assert rolled.metadata.get("image_dimensions") == [100, 200]
    else:
        assert rolled.data["image_dimensions"].tolist() == [[100, 200]] * len(expected)
    assert result["crop_zones"] == [
        [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
        for x1, y1, x2, y2 in map(lambda b: map(float, b), parent_boxes)
    ]


def test_rollup_masks_union() -> None:
    parents = _boxes([[10, 10, 60, 60], [40, 10, 90, 60]], prefix="p")
    children = _children_of(parents, [[[20, 5, 40, 25]], [[0, 5, 22, 25]]], [["a"], ["a"]])
    for child in children:
        mask = np.zeros((1, 50, 50), dtype=bool)
        mask[0, 5:25, :] = True
        child.mask = mask
    block = DetectionsListRollUpBlock(BlockContext("r", "DetectionsListRollUp"))
    rolled = block.run(parent_detection=parents, child_detections=children)["rolled_up_detections"]
    assert rolled.mask is not None and rolled.mask.shape == (1, 100, 200)
    assert rolled.xyxy.tolist() == [[10.0, 15.0, 90.0, 35.0]]


def test_rollup_needs_one_child_set_per_parent() -> None:
    block = DetectionsListRollUpBlock(BlockContext("r", "DetectionsListRollUp"))
    with pytest.raises(ValueError, match="Dimension Collapse"):
        block.run(parent_detection=_boxes([[0, 0, 5, 5]]), child_detections=[])
