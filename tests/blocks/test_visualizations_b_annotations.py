"""Classification labels, model comparison and icon visualizations."""

from __future__ import annotations

import base64
from typing import Any

import cv2
import numpy as np
import pytest
import supervision as sv
from pydantic import ValidationError

from visionflow.blocks.base import BlockContext
from visionflow.blocks.visualizations.annotations import (
    ClassificationLabelVisualizationBlock,
    IconVisualizationBlock,
    IconVisualizationManifest,
    ModelComparisonVisualizationBlock,
    icon_centres,
    icon_with_alpha,
    label_rows,
    labels_for,
    ranked_classes,
)
from visionflow.data.image import Image

HEIGHT, WIDTH = 200, 300


def _image(value: int = 60) -> Image:
    return Image(np.full((HEIGHT, WIDTH, 3), value, dtype=np.uint8), parent_id="image")


def _block(cls: type) -> Any:
    return cls(BlockContext(step_name="viz", block_type="test"))


def _changed(before: Image, after: Image) -> np.ndarray:
    return np.any(before.numpy_image != after.numpy_image, axis=2)


def _boxes(*boxes: tuple[float, float, float, float], mask: np.ndarray | None = None):
    if not boxes:
        return sv.Detections.empty()
    return sv.Detections(
        xyxy=np.array(boxes, dtype=float),
        class_id=np.zeros(len(boxes), dtype=int),
        confidence=np.full(len(boxes), 0.9),
        mask=mask,
    )


# ---------------------------------------------------------------------------------------------
# classification_label_visualization
# ---------------------------------------------------------------------------------------------
def _single(*scores: tuple[str, float]) -> dict[str, Any]:
    return {
        "image": {"width": WIDTH, "height": HEIGHT},
        "predictions": [
            {"class": name, "class_id": i, "confidence": score}
            for i, (name, score) in enumerate(scores)
        ],
    }


MULTI = {
    "image": {"width": WIDTH, "height": HEIGHT},
    "predictions": {
        "cat": {"class_id": 0, "confidence": 0.2},
        "dog": {"class_id": 1, "confidence": 0.9},
        "car": {"class_id": 2, "confidence": 0.6},
    },
    "predicted_classes": ["car", "dog"],
}

LABEL_DEFAULTS: dict[str, Any] = {
    "copy_image": True,
    "color_palette": "DEFAULT",
    "palette_size": 10,
    "custom_colors": [],
    "color_axis": "CLASS",
    "text": "Class",
    "text_color": "WHITE",
    "text_scale": 1.0,
    "text_thickness": 1,
    "text_padding": 10,
    "border_radius": 0,
}


@pytest.mark.parametrize(
    ("predictions", "position", "expected", "region"),
    [
        (_single(), "TOP_LEFT", [], None),
        ({**MULTI, "predicted_classes": []}, "TOP_LEFT", [], None),
        (_single(("cat", 0.3), ("dog", 0.7)), "TOP_LEFT", ["dog"], (slice(0, 100), slice(0, 150))),
        (MULTI, "BOTTOM_RIGHT", ["dog", "car"], (slice(100, 200), slice(150, 300))),
        (MULTI, "CENTER", ["dog", "car"], (slice(50, 150), slice(75, 225))),
    ],
    ids=["no classes", "multi-label, none predicted", "single-label", "multi-label", "centre"],
)
def test_classification_label(predictions, position, expected, region) -> None:
    assert [entry["class"] for entry in ranked_classes(predictions)] == expected
    image = _image()
    out = _block(ClassificationLabelVisualizationBlock).run(
        image, predictions, text_position=position, **LABEL_DEFAULTS
    )["image"]
    changed = _changed(image, out)
    if region is None:
        assert not changed.any()
        return
    assert changed[region].any()
    outside = np.ones_like(changed)
    outside[region] = False
    assert not changed[outside].any(), "labels stay in their corner / the centre"


def test_classification_label_texts_and_layout() -> None:
    classes = [{"class": "dog", "confidence": 0.876}]
    assert labels_for(classes, "Class") == ["dog"]
    assert labels_for(classes, "Confidence") == ["0.88"]
    assert labels_for(classes, "Class and Confidence") == ["dog 0.88"]
    with pytest.raises(ValueError, match="text must be"):
        labels_for(classes, "Nope")
    # bottom positions stack upwards with the best label lowest (drawn last in the list)
    boxes, order = label_rows(2, ["a", "b"], "BOTTOM_LEFT", 300, 200, 1.0, 1, 10)
    assert order == [1, 0]
    assert boxes[:, 3].tolist() == [153.0, 106.0]


def test_classification_label_rejects_other_predictions() -> None:
    with pytest.raises(ValueError, match="classification"):
        ranked_classes({"predictions": "x"})


# ---------------------------------------------------------------------------------------------
# model_comparison_visualization
# ---------------------------------------------------------------------------------------------
COMPARE_DEFAULTS: dict[str, Any] = {
    "color_a": "GREEN",
    "color_b": "RED",
    "background_color": "BLACK",
    "opacity": 1.0,
    "copy_image": True,
}
GREEN, RED, BLACK = [0, 255, 0], [0, 0, 255], [0, 0, 0]
ORIGINAL = [60, 60, 60]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (_boxes(), _boxes(), {(100, 150): BLACK, (10, 10): BLACK}),
        (_boxes((0, 0, 100, 100)), _boxes(), {(50, 50): GREEN, (150, 250): BLACK}),
        (
            _boxes((0, 0, 100, 100)),
            _boxes((50, 50, 150, 150)),
            {(25, 25): GREEN, (75, 75): ORIGINAL, (125, 125): RED, (180, 280): BLACK},
        ),
        (_boxes((-20, -20, 30, 30)), _boxes(), {(10, 10): GREEN, (190, 290): BLACK}),
    ],
    ids=["both empty", "only A", "overlap", "box partly outside"],
)
def test_model_comparison(a, b, expected) -> None:
    image = _image()
    out = _block(ModelComparisonVisualizationBlock).run(
        image, predictions_a=a, predictions_b=b, **COMPARE_DEFAULTS
    )["image"]
    for (y, x), color in expected.items():
        assert out.numpy_image[y, x].tolist() == color
    assert image.numpy_image[0, 0].tolist() == ORIGINAL


def test_model_comparison_uses_masks_and_opacity() -> None:
    mask = np.zeros((1, HEIGHT, WIDTH), dtype=bool)
    mask[0, 10:20, 10:20] = True
    out = _block(ModelComparisonVisualizationBlock).run(
        _image(),
        predictions_a=_boxes((0, 0, 100, 100), mask=mask),
        predictions_b=_boxes(),
        **{**COMPARE_DEFAULTS, "opacity": 0.5},
    )["image"]
    assert out.numpy_image[15, 15].tolist() == [30, 158, 30]  # half green
    assert out.numpy_image[50, 50].tolist() == [30, 30, 30], "outside the mask: background"


# ---------------------------------------------------------------------------------------------
# icon_visualization
# ---------------------------------------------------------------------------------------------
ICON_DEFAULTS: dict[str, Any] = {
    "copy_image": True,
    "icon_width": 20,
    "icon_height": 20,
    "position": "CENTER",
    "x_position": 10,
    "y_position": 10,
}


def _icon(value: int = 255) -> Image:
    return Image(np.full((10, 10, 3), value, dtype=np.uint8), parent_id="icon")


@pytest.mark.parametrize(
    ("mode", "predictions", "overrides", "covered"),
    [
        ("dynamic", _boxes(), {}, []),
        ("dynamic", _boxes((40, 40, 60, 60), (200, 100, 240, 140)), {}, [(40, 40, 60, 60)]),
        ("static", None, {}, [(10, 10, 30, 30)]),
        ("static", None, {"x_position": -5, "y_position": -5}, [(175, 275, 195, 295)]),
    ],
    ids=["no detections", "dynamic", "static", "static from the bottom-right"],
)
def test_icon_placement(mode, predictions, overrides, covered) -> None:
    image = _image()
    out = _block(IconVisualizationBlock).run(
        image, mode=mode, icon=_icon(), predictions=predictions, **{**ICON_DEFAULTS, **overrides}
    )["image"]
    changed = _changed(image, out)
    for y1, x1, y2, x2 in covered:
        assert (out.numpy_image[y1:y2, x1:x2] == 255).all()
    expected = np.zeros_like(changed)
    for y1, x1, y2, x2 in covered:
        expected[y1:y2, x1:x2] = True
    if mode == "dynamic" and covered:
        expected[110:130, 210:230] = True  # the second detection's icon
    assert (changed == expected).all()


def test_icon_keeps_png_transparency() -> None:
    bgra = np.zeros((10, 10, 4), dtype=np.uint8)
    bgra[:, :5] = (255, 255, 255, 255)  # left half opaque white, right half transparent
    ok, png = cv2.imencode(".png", bgra)
    assert ok
    icon = Image(
        bgra[:, :, :3].copy(),
        parent_id="icon",
        base64_value=base64.b64encode(png.tobytes()).decode(),
    )
    assert icon_with_alpha(icon)[:, :, 3].tolist()[0] == [255] * 5 + [0] * 5
    out = _block(IconVisualizationBlock).run(
        _image(), mode="static", icon=icon, predictions=None, **ICON_DEFAULTS
    )["image"]
    assert out.numpy_image[20, 12].tolist() == [255, 255, 255]
    assert out.numpy_image[20, 27].tolist() == ORIGINAL, "transparent pixels show the image"


def test_icon_without_alpha_is_opaque() -> None:
    assert (icon_with_alpha(_icon(9))[:, :, 3] == 255).all()


def test_icon_centres_static_matches_odd_sizes() -> None:
    centres = icon_centres("static", (100, 100, 3), None, (41, 33), None, 10, 10)
    assert centres.tolist() == [[30, 26]]


def test_icon_dynamic_mode_needs_predictions() -> None:
    with pytest.raises(ValidationError, match="predictions"):
        IconVisualizationManifest.model_validate(
            {
                "type": "roboflow_core/icon_visualization@v1",
                "name": "i",
                "image": "$inputs.image",
                "icon": "$inputs.icon",
            }
        )
