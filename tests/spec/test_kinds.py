from __future__ import annotations

import pytest

from visionflow.spec.kinds import KINDS, kinds_compatible

COMPAT_KINDS = [
    "*",
    "image",
    "video_metadata",
    "roboflow_model_id",
    "roboflow_project",
    "roboflow_api_key",
    "float_zero_to_one",
    "list_of_values",
    "serialised_payloads",
    "boolean",
    "integer",
    "string",
    "top_class",
    "float",
    "dictionary",
    "detection",
    "classification_prediction",
    "object_detection_prediction",
    "instance_segmentation_prediction",
    "keypoint_detection_prediction",
    "semantic_segmentation_prediction",
    "point",
    "zone",
    "rgb_color",
    "image_keypoints",
    "contours",
    "numpy_array",
    "qr_code_detection",
    "bar_code_detection",
    "prediction_type",
    "parent_id",
    "image_metadata",
    "bytes",
    "inference_id",
    "secret",
    "embedding",
    "timestamp",
    "language_model_output",
]


@pytest.mark.parametrize(
    ("produced", "accepted", "expected"),
    [
        ([], [], True),
        (["image"], ["image"], True),
        (["image"], ["*"], True),
        (["*"], ["string"], True),
        (["image"], ["string", "integer"], False),
        (
            ["object_detection_prediction", "instance_segmentation_prediction"],
            ["instance_segmentation_prediction"],
            True,
        ),
        (["float"], ["float_zero_to_one"], False),
    ],
)
def test_compatibility_is_intersection_with_wildcard(
    produced: list[str], accepted: list[str], expected: bool
) -> None:
    assert kinds_compatible(produced, accepted) is expected


def test_every_kind_of_the_specification_is_declared() -> None:
    assert sorted(KINDS) == sorted(COMPAT_KINDS)
