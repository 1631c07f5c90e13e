"""Drawing helpers the visualization blocks need beyond supervision's annotators.

>>> import numpy as np
>>> box_masks(np.array([[1.0, 0.0, 3.0, 2.0]]), (3, 4)).astype(int).tolist()
[[[0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]]
"""

from __future__ import annotations

import cv2
import numpy as np
import supervision as sv


def box_masks(xyxy: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean masks (N x H x W) that fill each box (coordinates truncated to pixels)."""
    height, width = shape
    boxes = np.asarray(xyxy, dtype=float).reshape(-1, 4).astype(int)
    rows = np.arange(height)[None, :, None]
    columns = np.arange(width)[None, None, :]
    x1, y1, x2, y2 = (boxes[:, i, None, None] for i in range(4))
    return (rows >= y1) & (rows < y2) & (columns >= x1) & (columns < x2)


def with_box_masks(detections: sv.Detections, shape: tuple[int, int]) -> sv.Detections:
    """``detections`` itself when it has masks, else a shallow copy whose masks are its boxes."""
    if detections.mask is not None:
        return detections
    boxed = sv.Detections(
        xyxy=detections.xyxy,
        mask=box_masks(detections.xyxy, shape),
        confidence=detections.confidence,
        class_id=detections.class_id,
        tracker_id=detections.tracker_id,
        data=detections.data,
        metadata=detections.metadata,
    )
    return boxed


class MaskAwareBlurAnnotator:
    """Blurs each detection's mask (grown by ``padding``), or its padded box without masks.

    supervision's ``BlurAnnotator`` blurs boxes only, which would show the background of a
    segmented object blurred as a rectangle.
    """

    def __init__(self, kernel_size: int, padding: int = 0) -> None:
        if kernel_size < 1:
            raise ValueError(f"kernel_size must be >= 1, got {kernel_size}")
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        self.kernel_size = kernel_size
        self.padding = padding
        self._boxes = sv.BlurAnnotator(kernel_size=kernel_size)
        self._grow_kernel = (
            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * padding + 1, 2 * padding + 1))
            if padding
            else None
        )

    def annotate(self, scene: np.ndarray, detections: sv.Detections) -> np.ndarray:
        """Blur ``scene`` in place and return it."""
        if detections.mask is None:
            padded = detections.xyxy + np.array([-1.0, -1.0, 1.0, 1.0]) * self.padding
            return self._boxes.annotate(scene=scene, detections=sv.Detections(xyxy=padded))
        height, width = scene.shape[:2]
        boxes = sv.clip_boxes(detections.xyxy, (width, height)).astype(int)
        for box, mask in zip(boxes, detections.mask, strict=True):
            self._blur_mask(scene, box, np.asarray(mask, dtype=bool))
        return scene

    def _blur_mask(self, scene: np.ndarray, box: np.ndarray, mask: np.ndarray) -> None:
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size == 0:
            return
        columns = np.flatnonzero(mask.any(axis=0))
        height, width = scene.shape[:2]
        # the region covers the box and the mask (a mask may reach past its box) plus padding
        x1 = max(min(int(box[0]), int(columns[0])) - self.padding, 0)
        y1 = max(min(int(box[1]), int(rows[0])) - self.padding, 0)
        x2 = min(max(int(box[2]), int(columns[-1]) + 1) + self.padding, width)
        y2 = min(max(int(box[3]), int(rows[-1]) + 1) + self.padding, height)
        if x2 <= x1 or y2 <= y1:
            return
        inside = mask[y1:y2, x1:x2]
        if self._grow_kernel is not None:
            inside = cv2.dilate(inside.astype(np.uint8), self._grow_kernel) > 0
        roi = scene[y1:y2, x1:x2]
        blurred = cv2.blur(roi, (self.kernel_size, self.kernel_size))
        roi[inside] = blurred[inside]
