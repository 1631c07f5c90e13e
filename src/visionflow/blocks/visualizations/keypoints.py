"""Keypoint visualization: skeleton edges, vertices, or labelled vertices of each detection.

Keypoints below a model's confidence threshold are left out of its response, so the remaining
ones shift left in the padded keypoint columns. supervision addresses keypoints by position
(edges are index pairs; the default skeleton is chosen by the number of keypoints), so they
are first put back at the slot given by their keypoint class id.

>>> import numpy as np
>>> import supervision as sv
>>> detections = sv.Detections(xyxy=np.array([[0.0, 0.0, 9.0, 9.0]]), class_id=np.array([0]))
>>> detections.data.update(
...     keypoints_xy=np.array([[[1.0, 1.0], [2.0, 2.0]]]),
...     keypoints_confidence=np.array([[0.9, 0.8]]),
...     keypoints_class_id=np.array([[0, 2]]),
...     keypoints_class_name=np.array([["head", "tail"]], dtype=object),
... )
>>> xy, confidence, names = keypoints_in_slots(detections)
>>> xy[0].tolist(), names[0].tolist()
([[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]], ['head', '', 'tail'])
"""

from __future__ import annotations

from typing import Any, Literal, Union

import numpy as np
import supervision as sv
from pydantic import Field

from visionflow.blocks.base import BlockInfo, DataSelector
from visionflow.blocks.registry import register_block
from visionflow.blocks.visualizations._base import (
    VisualizationBlock,
    VisualizationManifest,
    str_to_color,
)
from visionflow.data.detections import (
    KEYPOINT_PADDING_CLASS_NAME,
    KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS,
    KEYPOINTS_XY_KEY_IN_SV_DETECTIONS,
)
from visionflow.data.image import Image
from visionflow.spec.kinds import (
    FLOAT_KIND,
    INTEGER_KIND,
    KEYPOINT_DETECTION_PREDICTION_KIND,
    LIST_OF_VALUES_KIND,
    STRING_KIND,
)

#: The 17 keypoints of the COCO person skeleton, in their standard order.
COCO_KEYPOINT_NAMES = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

# Keypoint class ids come unchecked from inputs and the annotators loop over every slot in
# Python: above these bounds the keypoints are drawn as stored instead of being re-slotted.
MAX_KEYPOINT_SLOTS = 1_024
MAX_KEYPOINT_CELLS = 1_000_000


def _is_coco_skeleton(class_ids: np.ndarray, class_names: np.ndarray) -> bool:
    """Whether every keypoint sits at its COCO position (names alone could be reordered)."""
    if class_ids.size == 0 or class_ids.max() >= len(COCO_KEYPOINT_NAMES):
        return False
    expected = np.asarray(COCO_KEYPOINT_NAMES, dtype=object)[class_ids]
    return bool(np.all(expected == class_names.astype(str)))


def keypoints_in_slots(detections: sv.Detections) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keypoint xy, confidences and names with each keypoint at the slot of its class id.

    Empty slots stay at (0, 0), which supervision's annotators skip. A COCO skeleton is widened
    to its 17 slots so supervision recognises it. Keypoints without class ids, or with ids
    that are negative or too large, are returned as stored.
    """
    data = detections.data
    missing = [
        key
        for key in (
            KEYPOINTS_XY_KEY_IN_SV_DETECTIONS,
            KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS,
            KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS,
        )
        if key not in data
    ]
    if missing:
        raise ValueError(
            f"the predictions carry no keypoints (missing {', '.join(missing)}); connect "
            "the output of a keypoint detection model"
        )
    xy = np.asarray(data[KEYPOINTS_XY_KEY_IN_SV_DETECTIONS], dtype=np.float32)
    confidence = np.asarray(data[KEYPOINTS_CONFIDENCE_KEY_IN_SV_DETECTIONS], dtype=np.float32)
    names = np.asarray(data[KEYPOINTS_CLASS_NAME_KEY_IN_SV_DETECTIONS], dtype=object)
    if KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS not in data:
        return xy, confidence, names
    class_ids = np.asarray(data[KEYPOINTS_CLASS_ID_KEY_IN_SV_DETECTIONS], dtype=int)
    real = names.astype(str) != KEYPOINT_PADDING_CLASS_NAME
    if not real.any() or class_ids[real].min() < 0:
        return xy, confidence, names
    slots = max(xy.shape[1], int(class_ids[real].max()) + 1)
    if _is_coco_skeleton(class_ids[real], names[real]):
        slots = max(slots, len(COCO_KEYPOINT_NAMES))
    count = xy.shape[0]
    if slots > MAX_KEYPOINT_SLOTS or count * slots > MAX_KEYPOINT_CELLS:
        return xy, confidence, names
    rows, columns = np.nonzero(real)
    targets = class_ids[rows, columns]
    slotted_xy = np.zeros((count, slots, 2), dtype=np.float32)
    slotted_confidence = np.zeros((count, slots), dtype=np.float32)
    slotted_names = np.full((count, slots), KEYPOINT_PADDING_CLASS_NAME, dtype=object)
    slotted_xy[rows, targets] = xy[rows, columns]
    slotted_confidence[rows, targets] = confidence[rows, columns]
    slotted_names[rows, targets] = names[rows, columns]
    return slotted_xy, slotted_confidence, slotted_names


def detections_to_keypoints(detections: sv.Detections) -> sv.KeyPoints:
    """supervision ``KeyPoints`` (one skeleton per detection) from keypoint predictions."""
    if len(detections) == 0:
        return sv.KeyPoints.empty()
    xy, confidence, names = keypoints_in_slots(detections)
    class_id = detections.class_id
    return sv.KeyPoints(
        xy=xy,
        class_id=None if class_id is None else np.asarray(class_id, dtype=int),
        keypoint_confidence=confidence,
        data={"class_name": names},
    )


class KeypointManifest(VisualizationManifest):
    type: Literal["roboflow_core/keypoint_visualization@v1", "KeypointVisualization"]
    predictions: DataSelector(KEYPOINT_DETECTION_PREDICTION_KIND) = Field(
        description="Keypoint detection predictions to draw.",
        examples=["$steps.keypoint_detection_model.predictions"],
    )
    annotator_type: Literal["edge", "vertex", "vertex_label"] = Field(
        default="edge",
        description=(
            "'edge' draws the skeleton's bones, 'vertex' a dot per keypoint, 'vertex_label' a "
            "labelled tag per keypoint."
        ),
    )
    color: Union[str, DataSelector(STRING_KIND)] = Field(
        default="#A351FB",
        description="Colour of the edges, dots or tags: '#RRGGBB', 'rgb(R, G, B)' or a name.",
        examples=["#A351FB", "green", "$inputs.color"],
    )
    text_color: Union[str, DataSelector(STRING_KIND)] = Field(
        default="black",
        description="Colour of the tags' text ('vertex_label').",
        examples=["black", "$inputs.text_color"],
    )
    text_scale: Union[float, DataSelector(FLOAT_KIND)] = Field(
        default=0.5,
        description="Size of the tags' text ('vertex_label').",
        examples=[0.5, "$inputs.text_scale"],
    )
    text_thickness: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=1,
        description="Stroke width of the tags' text in pixels ('vertex_label').",
        examples=[1, "$inputs.text_thickness"],
    )
    text_padding: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=10,
        description="Space around the tags' text in pixels ('vertex_label').",
        examples=[10, "$inputs.text_padding"],
    )
    thickness: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=2,
        description="Width of the edges in pixels ('edge').",
        examples=[2, "$inputs.thickness"],
    )
    radius: Union[int, DataSelector(INTEGER_KIND)] = Field(
        default=10,
        description="Radius of the dots, or corner radius of the tags, in pixels.",
        examples=[10, "$inputs.radius"],
    )
    edges: Union[list, DataSelector(LIST_OF_VALUES_KIND)] = Field(  # type: ignore[type-arg]
        default=None,
        description=(
            "Pairs of keypoint numbers to join ('edge'), counted from 1 as supervision does, "
            "e.g. [[1, 2], [6, 7]]; by default the skeleton supervision knows for that number "
            "of keypoints (e.g. COCO)."
        ),
        examples=["$inputs.edges"],
    )

    block_info = BlockInfo(
        name="Keypoint Visualization",
        short="Draw the keypoints (skeleton, dots or labels) of each detection.",
        category="visualization",
    )


@register_block
class KeypointVisualizationBlock(VisualizationBlock):
    """Skeleton edges, vertices or labelled vertices of every detection's keypoints."""

    manifest = KeypointManifest

    def run(
        self,
        image: Image,
        predictions: sv.Detections,
        copy_image: bool,
        annotator_type: str,
        color: str,
        text_color: str,
        text_scale: float,
        text_thickness: int,
        text_padding: int,
        thickness: int,
        radius: int,
        edges: list[Any] | None = None,
    ) -> dict[str, Any]:
        pairs = None if edges is None else [(int(a), int(b)) for a, b in edges]

        def build() -> Any:
            if annotator_type == "edge":
                return sv.EdgeAnnotator(color=str_to_color(color), thickness=thickness, edges=pairs)
            if annotator_type == "vertex":
                return sv.VertexAnnotator(color=str_to_color(color), radius=radius)
            return sv.VertexLabelAnnotator(
                color=str_to_color(color),
                text_color=str_to_color(text_color),
                text_scale=text_scale,
                text_thickness=text_thickness,
                text_padding=text_padding,
                border_radius=radius,
            )

        key = (annotator_type, color, text_color, text_scale, text_thickness, text_padding)
        annotator = self.annotator((*key, thickness, radius, pairs), build)
        keypoints = detections_to_keypoints(predictions)
        return self.draw(image, copy_image, annotator, key_points=keypoints)
