from __future__ import annotations

import logging

import numpy as np
import pytest
import supervision as sv

from visionflow.data import (
    Image,
    attach_image_metadata,
    detections_to_root_coordinates,
    image_size_of,
    make_classification,
    make_detections,
    merge_detections,
    shift_detections,
)
from visionflow.data.detections import (
    KEYPOINTS_XY_KEY_IN_SV_DETECTIONS,
    POLYGON_KEY_IN_SV_DETECTIONS,
    real_keypoints_count,
)

BOXES = [
    np.empty((0, 4)),
    np.array([[1.0, 2.0, 11.0, 12.0]]),
    np.array([[0, 0, 5, 5], [3, 4, 9, 9]]),
]


def _detections(xyxy: np.ndarray) -> sv.Detections:
    n = len(xyxy)
    return sv.Detections(
        xyxy=np.asarray(xyxy, dtype=float).reshape(-1, 4),
        confidence=np.full(n, 0.5),
        class_id=np.zeros(n, dtype=int),
    )


@pytest.mark.parametrize(
    ("image_name", "expected"),
    [
        (
            "root_image",
            {
                "parent_id": "image",
                "parent_coordinates": [0, 0],
                "parent_dimensions": [100, 200],
                "root_parent_id": "image",
                "root_parent_coordinates": [0, 0],
                "root_parent_dimensions": [100, 200],
                "image_dimensions": [100, 200],
            },
        ),
        (
            "crop_image",
            {
                "parent_id": "crop-1",
                "parent_coordinates": [30, 20],
                "parent_dimensions": [100, 200],
                "root_parent_id": "image",
                "root_parent_coordinates": [30, 20],
                "root_parent_dimensions": [100, 200],
                "image_dimensions": [40, 50],
            },
        ),
        (
            "nested_crop_image",
            {
                "parent_id": "crop-2",
                "parent_coordinates": [5, 10],
                "parent_dimensions": [40, 50],
                "root_parent_id": "image",
                "root_parent_coordinates": [35, 30],
                "root_parent_dimensions": [100, 200],
                "image_dimensions": [20, 20],
            },
        ),
    ],
)
@pytest.mark.parametrize("xyxy", BOXES, ids=["empty", "one", "two"])
def test_attach_image_metadata_sets_columns_and_metadata(
    request: pytest.FixtureRequest, image_name: str, expected: dict, xyxy: np.ndarray
) -> None:
    image: Image = request.getfixturevalue(image_name)
    detections = attach_image_metadata(
        _detections(xyxy), image, prediction_type="object-detection", inference_id="inf-1"
    )
    n = len(xyxy)
    for key, value in expected.items():
        assert detections.metadata[key] == value
        assert len(detections.data[key]) == n
        for row in detections.data[key]:
            assert (row.tolist() if isinstance(row, np.ndarray) else row) == value
    assert detections.metadata["prediction_type"] == "object-detection"
    assert list(detections.data["inference_id"]) == ["inf-1"] * n
    assert len(set(detections.data["detection_id"])) == n


@pytest.mark.parametrize("existing", [[], ["a"], ["a", "b"]])
def test_attach_image_metadata_keeps_existing_detection_ids(
    root_image: Image, existing: list[str]
) -> None:
    detections = _detections(BOXES[len(existing)])
    detections.data["detection_id"] = np.array(existing, dtype=str)
    attach_image_metadata(detections, root_image)
    assert list(detections.data["detection_id"]) == existing


@pytest.mark.parametrize(
    ("class_id", "class_names", "expected"),
    [
        ([], ["cat"], []),
        ([1, 0], ["cat", "dog"], ["dog", "cat"]),
        ([0, 7], {0: "cat"}, ["cat", "7"]),
        ([3], None, ["3"]),
    ],
)
def test_make_detections_names_classes(
    root_image: Image, class_id: list[int], class_names: object, expected: list[str]
) -> None:
    n = len(class_id)
    detections = make_detections(
        np.tile([[0, 0, 4, 4]], (n, 1)), [0.9] * n, class_id, class_names, root_image
    )
    assert list(detections.data["class_name"]) == expected
    assert detections.metadata["image_dimensions"] == [100, 200]
    assert detections.metadata["prediction_type"] == "object-detection"


def test_detections_to_root_coordinates_empty_uses_metadata(crop_image: Image) -> None:
    empty = make_detections(np.empty((0, 4)), [], [], ["a"], crop_image)
    mapped = detections_to_root_coordinates(empty)
    assert len(mapped) == 0
    assert mapped.metadata["image_dimensions"] == [100, 200]
    assert mapped.metadata["parent_id"] == "image"
    assert mapped.metadata["parent_coordinates"] == [0, 0]
    assert mapped.metadata["root_parent_coordinates"] == [0, 0]
    assert image_size_of(mapped) == (200, 100)
    # the original keeps its crop-level facts
    assert empty.metadata["parent_id"] == "crop-1"


@pytest.mark.parametrize(
    ("image_name", "shift"),
    [("root_image", (0, 0)), ("crop_image", (30, 20)), ("nested_crop_image", (35, 30))],
)
def test_detections_to_root_coordinates_shifts_everything(
    request: pytest.FixtureRequest, image_name: str, shift: tuple[int, int]
) -> None:
    image: Image = request.getfixturevalue(image_name)
    h, w = image.height, image.width
    mask = np.zeros((2, h, w), dtype=bool)
    mask[0, 2:6, 1:4] = True
    mask[1, 0:2, 0:2] = True
    keypoints = np.array([[[1, 1], [2, 3]], [[4, 4], [0, 0]]], dtype=np.float32)
    detections = make_detections(
        [[1, 2, 4, 6], [0, 0, 2, 2]],
        [0.9, 0.8],
        [0, 1],
        ["a", "b"],
        image,
        mask=mask,
        data={
            KEYPOINTS_XY_KEY_IN_SV_DETECTIONS: keypoints,
            POLYGON_KEY_IN_SV_DETECTIONS: np.array(
                [[[1, 2], [4, 2], [4, 6]], [[0, 0], [2, 0], [2, 2]]]
            ),
        },
    )
    original_xyxy = detections.xyxy.copy()
    mapped = detections_to_root_coordinates(detections)

    dx, dy = shift
    np.testing.assert_allclose(mapped.xyxy, original_xyxy + np.array([dx, dy, dx, dy]))
    np.testing.assert_allclose(
        mapped.data[KEYPOINTS_XY_KEY_IN_SV_DETECTIONS], keypoints + np.array([dx, dy])
    )
    np.testing.assert_allclose(
        mapped.data[POLYGON_KEY_IN_SV_DETECTIONS][0],
        [[1 + dx, 2 + dy], [4 + dx, 2 + dy], [4 + dx, 6 + dy]],
    )
    assert mapped.mask.shape == (2, 100, 200)
    assert mapped.mask[0].sum() == mask[0].sum()
    assert mapped.mask[0, 2 + dy : 6 + dy, 1 + dx : 4 + dx].all()
    assert list(mapped.data["parent_id"]) == ["image", "image"]
    assert mapped.data["image_dimensions"].tolist() == [[100, 200]] * 2
    assert mapped.data["root_parent_coordinates"].tolist() == [[0, 0]] * 2
    assert mapped.metadata["parent_dimensions"] == [100, 200]
    # a copy: the input is untouched
    np.testing.assert_allclose(detections.xyxy, original_xyxy)
    assert detections.mask.shape == (2, h, w)


def test_detections_to_root_coordinates_relocates_compact_masks(crop_image: Image) -> None:
    from supervision.detection.compact_mask import CompactMask

    dense = np.zeros((1, 40, 50), dtype=bool)
    dense[0, 5:10, 5:10] = True
    xyxy = np.array([[5.0, 5.0, 9.0, 9.0]])
    compact = CompactMask.from_dense(dense, xyxy, image_shape=(40, 50))
    detections = make_detections(xyxy, [0.9], [0], ["a"], crop_image, mask=compact)
    mapped = detections_to_root_coordinates(detections)
    full = np.asarray(mapped.mask)
    assert full.shape == (1, 100, 200)
    assert full[0, 25:30, 35:40].all() and full.sum() == 25


def test_detections_to_root_coordinates_without_lineage_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bare = _detections(BOXES[1])
    with caplog.at_level(logging.WARNING):
        mapped = detections_to_root_coordinates(bare)
    assert "root_parent_id" in caplog.text
    np.testing.assert_allclose(mapped.xyxy, bare.xyxy)
    assert mapped is not bare


@pytest.mark.parametrize(
    ("xyxy", "dx", "dy", "expected"),
    [
        (BOXES[0], 5, 5, np.empty((0, 4))),
        (BOXES[1], 3, -2, np.array([[4.0, 0.0, 14.0, 10.0]])),
    ],
)
def test_shift_detections(xyxy: np.ndarray, dx: int, dy: int, expected: np.ndarray) -> None:
    detections = _detections(xyxy)
    shifted = shift_detections(detections, dx, dy)
    np.testing.assert_allclose(shifted.xyxy, expected)
    np.testing.assert_allclose(detections.xyxy, xyxy)


def test_shift_detections_moves_and_clips_masks() -> None:
    mask = np.zeros((1, 10, 10), dtype=bool)
    mask[0, 0:4, 6:10] = True
    detections = _detections(np.array([[6, 0, 9, 3]]))
    detections.mask = mask
    shifted = shift_detections(detections, 2, 1)
    assert shifted.mask.shape == (1, 10, 10)
    assert shifted.mask[0, 1:5, 8:10].all()
    assert shifted.mask.sum() == 8  # two columns fell off the right edge


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda img: make_detections(np.empty((0, 4)), [], [], [], img), (200, 100)),
        (lambda img: make_detections([[0, 0, 1, 1]], [1.0], [0], ["a"], img), (200, 100)),
        (lambda img: _detections(BOXES[1]), None),
    ],
)
def test_image_size_of(root_image: Image, build, expected) -> None:
    assert image_size_of(build(root_image)) == expected


def test_merge_detections_of_different_images(root_image: Image, crop_image: Image) -> None:
    empty = make_detections(np.empty((0, 4)), [], [], [], root_image)
    a = make_detections([[0, 0, 1, 1]], [0.9], [0], ["a"], root_image)
    b = make_detections([[0, 0, 2, 2]], [0.8], [1], ["b"], crop_image)
    with pytest.raises(ValueError):
        sv.Detections.merge([a, b])
    merged = merge_detections([empty, a, b])
    assert len(merged) == 2
    assert list(merged.data["parent_id"]) == ["image", "crop-1"]
    assert "parent_id" not in merged.metadata
    assert merged.metadata["root_parent_id"] == "image"
    assert len(merge_detections([empty])) == 0
    assert merge_detections([empty]).metadata["image_dimensions"] == [100, 200]


@pytest.mark.parametrize(
    ("names", "total", "expected"),
    [([], 0, 0), (["nose", "eye", ""], 3, 2), (None, 4, 4), (["a", "b"], 2, 2)],
)
def test_real_keypoints_count(names, total: int, expected: int) -> None:
    assert real_keypoints_count(names, total) == expected


@pytest.mark.parametrize(
    ("scores", "multi_label", "threshold", "expected"),
    [
        ([], False, None, {"predictions": [], "top": "", "confidence": 0.0}),
        (
            [0.1, 0.7, 0.2],
            False,
            None,
            {
                "predictions": [
                    {"class": "dog", "class_id": 1, "confidence": 0.7},
                    {"class": "bird", "class_id": 2, "confidence": 0.2},
                    {"class": "cat", "class_id": 0, "confidence": 0.1},
                ],
                "top": "dog",
                "confidence": 0.7,
            },
        ),
        (
            [0.1, 0.7, 0.2],
            False,
            0.15,
            {
                "predictions": [
                    {"class": "dog", "class_id": 1, "confidence": 0.7},
                    {"class": "bird", "class_id": 2, "confidence": 0.2},
                ],
                "top": "dog",
                "confidence": 0.7,
            },
        ),
        (
            [0.9, 0.3, 0.5],
            True,
            None,
            {
                "predictions": {
                    "cat": {"confidence": 0.9, "class_id": 0},
                    "dog": {"confidence": 0.3, "class_id": 1},
                    "bird": {"confidence": 0.5, "class_id": 2},
                },
                "predicted_classes": ["cat", "bird"],
            },
        ),
    ],
)
def test_make_classification(
    crop_image: Image, scores, multi_label: bool, threshold, expected: dict
) -> None:
    result = make_classification(
        np.array(scores),
        ["cat", "dog", "bird"],
        crop_image,
        multi_label=multi_label,
        confidence_threshold=threshold,
        inference_id="i-1",
    )
    for key, value in expected.items():
        assert result[key] == value
    assert result["image"] == {"width": 50, "height": 40}
    assert result["parent_id"] == "crop-1"
    assert result["root_parent_id"] == "image"
    assert result["prediction_type"] == "classification"
    assert result["inference_id"] == "i-1"
    assert ("top" in result) is (not multi_label)
