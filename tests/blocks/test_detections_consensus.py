"""detections_consensus: boxes several sources agree on, merged."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from visionflow.blocks.base import Batch, BlockContext
from visionflow.blocks.fusion.detections_consensus import (
    DetectionsConsensusBlock,
    DetectionsConsensusManifest,
    consensus,
)
from visionflow.blocks.registry import default_registry
from visionflow.data.detections import make_detections
from visionflow.data.image import Image

IMAGE = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="image")
OTHER = Image(np.zeros((100, 200, 3), dtype=np.uint8), parent_id="other")


def _source(boxes: list[tuple[list[float], str, float]], prefix: str, image: Image = IMAGE):
    names = ["cat", "dog"]
    return make_detections(
        [b for b, _, _ in boxes] or np.empty((0, 4)),
        [c for _, _, c in boxes],
        [names.index(n) for _, n, _ in boxes],
        names,
        image,
        data={
            "detection_id": np.array([f"{prefix}{i}" for i in range(len(boxes))], dtype=str),
            "class_name": np.array([n for _, n, _ in boxes], dtype=str),
        },
    )


DOG_A = ([10, 10, 50, 50], "dog", 0.8)
DOG_B = ([12, 10, 52, 50], "dog", 0.6)
CAT_B = ([10, 10, 50, 50], "cat", 0.9)
FAR_B = ([150, 60, 190, 95], "dog", 0.7)


def test_alias_and_fields() -> None:
    assert default_registry.get("DetectionsConsensus").identifier == (
        "roboflow_core/detections_consensus@v1"
    )
    manifest = DetectionsConsensusManifest.model_validate(
        {
            "type": "DetectionsConsensus",
            "name": "c",
            "predictions": ["$steps.a.p"],
            "required_votes": 1,
        }
    )
    assert manifest.predictions_batches == ["$steps.a.p"]
    with pytest.raises(ValidationError):
        DetectionsConsensusManifest.model_validate(
            {
                "type": "DetectionsConsensus",
                "name": "c",
                "predictions_batches": [],
                "required_votes": 1,
            }
        )


@pytest.mark.parametrize(
    ("a", "b", "options", "boxes", "present", "presence"),
    [
        # nothing detected anywhere
        ([], [], {}, [], False, {}),
        # two votes for the dog: averaged box and confidence
        ([DOG_A], [DOG_B, FAR_B], {}, [([11, 10, 51, 50], "dog", 0.7)], True, {"dog": 0.7}),
        # class-aware: a cat does not vote for a dog
        ([DOG_A], [CAT_B], {}, [], False, {}),
        # class-agnostic, max confidence picks the class and the confidence
        (
            [DOG_A],
            [CAT_B],
            {"class_aware": False, "confidence_aggregation": "max"},
            [([10, 10, 50, 50], "cat", 0.9)],
            True,
            {"any_object": 0.9},
        ),
        # one vote is enough: every box survives once
        (
            [DOG_A],
            [DOG_B],
            {"required_votes": 1},
            [([11, 10, 51, 50], "dog", 0.7)],
            True,
            {"dog": 0.7},
        ),
        # confidence floor drops the merged box
        ([DOG_A], [DOG_B], {"confidence": 0.75}, [], False, {}),
        # the largest / smallest box
        (
            [DOG_A],
            [DOG_B],
            {"boxes_aggregation": "min", "presence_confidence_aggregation": "min"},
            [([10, 10, 50, 50], "dog", 0.7)],
            True,
            {"dog": 0.7},
        ),
        # required objects not reached
        (
            [DOG_A],
            [DOG_B],
            {"required_objects": {"dog": 2}},
            [([11, 10, 51, 50], "dog", 0.7)],
            False,
            {},
        ),
        ([DOG_A], [DOG_B], {"required_objects": 2}, [([11, 10, 51, 50], "dog", 0.7)], False, {}),
        # classes to consider leave nothing to agree on
        ([DOG_A], [DOG_B], {"classes_to_consider": ["cat"]}, [], False, {}),
    ],
)
def test_consensus(
    a: list, b: list, options: dict[str, Any], boxes: list, present: bool, presence: dict
) -> None:
    options = {"required_votes": 2, **options}
    merged, got_present, got_presence = consensus([_source(a, "a"), _source(b, "b")], **options)
    got = [
        (box, name, round(conf, 3))
        for box, name, conf in zip(
            merged.xyxy.tolist(),
            merged.data["class_name"].tolist(),
            merged.confidence.tolist() if len(merged) else [],
            strict=True,
        )
    ]
    assert got == [(list(map(float, b_)), n, c) for b_, n, c in boxes]
    assert got_present is present
    assert {k: round(v, 3) for k, v in got_presence.items()} == presence
    # merged boxes keep the image they belong to, even when there are none
    assert merged.metadata["image_dimensions"] == [100, 200]


def test_different_images_are_refused() -> None:
    with pytest.raises(ValueError, match="different images"):
        consensus([_source([DOG_A], "a"), _source([DOG_B], "b", OTHER)], required_votes=2)


def test_masks_are_merged() -> None:
    a, b = _source([DOG_A], "a"), _source([DOG_B], "b")
    mask_a = np.zeros((1, 100, 200), dtype=bool)
    mask_a[0, 20:40, 20:40] = True
    mask_b = np.zeros((1, 100, 200), dtype=bool)
    mask_b[0, 30:60, 30:50] = True
    a.mask, b.mask = mask_a, mask_b
    union, _, _ = consensus([a, b], required_votes=2)
    assert union.mask is not None and union.mask[0].sum() == (mask_a | mask_b).sum()
    assert union.xyxy.tolist() == [[20.0, 20.0, 49.0, 59.0]]
    common, _, _ = consensus([a, b], required_votes=2, mask_aggregation="intersection")
    assert common.mask is not None and common.mask[0].sum() == (mask_a & mask_b).sum()


def test_block_runs_per_element() -> None:
    block = DetectionsConsensusBlock(BlockContext("c", "DetectionsConsensus"))
    batch = Batch(
        [[_source([DOG_A], "a"), _source([DOG_B], "b")], [_source([], "a"), _source([], "b")]],
        [(0,), (1,)],
    )
    results = block.run(predictions_batches=batch, required_votes=2)
    assert [r["object_present"] for r in results] == [True, False]
    assert [len(r["predictions"]) for r in results] == [1, 0]
