"""Preprocessing: letterbox / stretch / centre crop, channel order and normalisation, transforms."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pytest

from visionflow.errors import ModelError
from visionflow.models.base import ModelTask
from visionflow.models.package import ModelManifest
from visionflow.models.preprocessing import ImageTransform, Preprocessor, preprocess


def manifest(**fields: object) -> ModelManifest:
    base: dict[str, object] = {
        "model_id": "m",
        "task": ModelTask.OBJECT_DETECTION,
        "input_size": (64, 64),
    }
    return ModelManifest(**{**base, **fields})  # type: ignore[arg-type]


class ShortSideManifest(ModelManifest):
    """A manifest with the field the lead may add (read with getattr by the preprocessor)."""

    resize_short_side: Optional[int] = None


def uniform(height: int, width: int, bgr: tuple[int, int, int] = (10, 20, 30)) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[:] = bgr
    return image


@pytest.mark.parametrize(
    ("height", "width", "scale", "left", "top", "new_w", "new_h"),
    [
        # (image height, width) -> ultralytics LetterBox to 64x64: ratio, left, top, resized size
        (64, 64, 1.0, 0, 0, 64, 64),  # same size: no resize, no border
        (100, 200, 0.32, 0, 16, 64, 32),  # landscape
        (200, 100, 0.32, 16, 0, 32, 64),  # portrait
        (90, 200, 0.32, 0, 17, 64, 29),  # odd border: round(17.5 - 0.1) on top, 18 below
        (16, 8, 4.0, 16, 0, 32, 64),  # small images are enlarged (scaleup)
    ],
)
def test_letterbox_matches_ultralytics(
    height: int, width: int, scale: float, left: int, top: int, new_w: int, new_h: int
) -> None:
    batch, (transform,) = preprocess([uniform(height, width)], manifest())
    assert batch.shape == (1, 3, 64, 64) and batch.dtype == np.float32
    assert transform.scale == pytest.approx((scale, scale))
    assert transform.offset == (left, top)
    assert transform.original_size == (width, height)
    content = np.zeros((64, 64), bool)
    content[top : top + new_h, left : left + new_w] = True
    # red channel first (rgb): the image's red is 30, the border grey 114
    np.testing.assert_allclose(batch[0, 0][content], 30 / 255, atol=1e-6)
    np.testing.assert_allclose(batch[0, 0][~content], 114 / 255, atol=1e-6)


@pytest.mark.parametrize(
    ("size", "boxes"),
    [
        ((100, 200), np.zeros((0, 4), np.float32)),
        ((100, 200), np.array([[0, 0, 200, 100], [10.5, 20, 50, 70]], np.float32)),
        ((300, 120), np.array([[5, 6, 100, 290]], np.float32)),
    ],
)
def test_boxes_round_trip(size: tuple[int, int], boxes: np.ndarray) -> None:
    _, (transform,) = preprocess([uniform(*size)], manifest())
    scale, offset = np.array(transform.scale), np.array(transform.offset)
    in_input = (boxes.reshape(-1, 2, 2) * scale + offset).reshape(-1, 4)
    np.testing.assert_allclose(transform.boxes_to_original(in_input), boxes, atol=1e-4)


def test_points_are_clipped_to_the_image() -> None:
    transform = ImageTransform((200, 100), (64, 64), (0.32, 0.32), (0, 16))
    points = np.array([[-5.0, 0.0], [70.0, 70.0]], np.float32)
    np.testing.assert_allclose(transform.points_to_original(points), [[0, 0], [200, 100]])
    unclipped = transform.points_to_original(points, clip=False)
    np.testing.assert_allclose(unclipped, [[-15.625, -50], [218.75, 168.75]])


@pytest.mark.parametrize(("height", "width"), [(100, 200), (200, 100), (64, 64)])
def test_stretch_fills_the_input(height: int, width: int) -> None:
    batch, (transform,) = preprocess([uniform(height, width)], manifest(resize="stretch"))
    assert transform.scale == pytest.approx((64 / width, 64 / height))
    assert transform.offset == (0, 0)
    np.testing.assert_allclose(batch[0, 0], 30 / 255, atol=1e-6)


@pytest.mark.parametrize(
    ("short_side", "height", "width", "scale", "offset"),
    [
        # no resize_short_side: the short side becomes the input's (224), then a centre crop
        (None, 300, 400, (298 / 400, 224 / 300), (-37, 0)),
        # torchvision Resize(256): 400x300 -> 341x256, crop left round(58.5) = 58, top 16
        (256, 300, 400, (341 / 400, 256 / 300), (-58, -16)),
        (256, 400, 300, (256 / 300, 341 / 400), (-16, -58)),
        (256, 224, 224, (256 / 224, 256 / 224), (-16, -16)),
    ],
)
def test_center_crop_like_torchvision(
    short_side: int | None,
    height: int,
    width: int,
    scale: tuple[float, float],
    offset: tuple[int, int],
) -> None:
    config = ShortSideManifest(
        model_id="c",
        task=ModelTask.CLASSIFICATION,
        input_size=(224, 224),
        resize="center-crop",
        resize_short_side=short_side,
    )
    batch, (transform,) = preprocess([uniform(height, width)], config)
    assert batch.shape == (1, 3, 224, 224)
    assert transform.scale == pytest.approx(scale)
    assert transform.offset == offset
    np.testing.assert_allclose(batch[0, 0], 30 / 255, atol=1e-6)


def test_center_crop_keeps_the_centre() -> None:
    image = np.zeros((300, 400, 3), np.uint8)
    image[:, 200:] = 255  # right half white
    pre = Preprocessor((224, 224), resize="center-crop", resize_short_side=256)
    batch, _ = pre([image])
    # crop of a 341-wide resize from x=58: the white half starts at 170.5 - 58 = 112.5
    assert batch[0, 0, 100, :110].max() == 0
    assert batch[0, 0, 100, 115:].min() == 1


@pytest.mark.parametrize(
    ("order", "scale", "mean", "std", "expected"),
    [
        ("rgb", 1 / 255, (0, 0, 0), (1, 1, 1), (30 / 255, 20 / 255, 10 / 255)),
        ("bgr", 1 / 255, (0, 0, 0), (1, 1, 1), (10 / 255, 20 / 255, 30 / 255)),
        ("rgb", 1.0, (127, 127, 127), (128, 128, 128), (-97 / 128, -107 / 128, -117 / 128)),
        (
            "rgb",
            1 / 255,
            (0.485, 0.456, 0.406),
            (0.229, 0.224, 0.225),
            ((30 / 255 - 0.485) / 0.229, (20 / 255 - 0.456) / 0.224, (10 / 255 - 0.406) / 0.225),
        ),
    ],
)
def test_channel_order_and_normalisation(
    order: str,
    scale: float,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    expected: tuple[float, ...],
) -> None:
    config = manifest(channel_order=order, scale=scale, mean=mean, std=std)
    batch, _ = preprocess([uniform(64, 64), uniform(64, 64)], config)
    for channel, value in enumerate(expected):
        np.testing.assert_allclose(batch[:, channel], value, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_batch_shape_and_order(count: int) -> None:
    images = [uniform(50 + 10 * i, 80, (i, i, i)) for i in range(count)]
    batch, transforms = preprocess(images, manifest(input_size=(96, 64)))
    assert batch.shape == (count, 3, 64, 96)
    assert [t.original_size for t in transforms] == [(80, 50 + 10 * i) for i in range(count)]
    for i in range(count):
        assert batch[i, 0, 32, 48] == pytest.approx(i / 255)


def test_grey_and_bgra_images_are_accepted() -> None:
    grey = np.full((20, 20), 50, np.uint8)
    bgra = np.dstack([uniform(20, 20), np.full((20, 20), 7, np.uint8)])
    batch, _ = preprocess([grey, bgra], manifest(resize="stretch"))
    np.testing.assert_allclose(batch[0, :, 5, 5], 50 / 255, atol=1e-6)
    np.testing.assert_allclose(batch[1, :, 5, 5], (30 / 255, 20 / 255, 10 / 255), atol=1e-6)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((10, 10, 3), np.float32),
        np.zeros((10, 10, 2), np.uint8),
        np.zeros((10,), np.uint8),
    ],
)
def test_invalid_images(image: np.ndarray) -> None:
    with pytest.raises(ModelError) as caught:
        preprocess([uniform(10, 10), image], manifest())
    assert caught.value.code == "model.invalid_image"
    assert caught.value.loc == "images[1]"


def test_float16_batches() -> None:
    pre = Preprocessor.from_manifest(manifest(), dtype=np.float16)
    batch, _ = pre([uniform(64, 64)])
    assert batch.dtype == np.float16


def test_missing_input_size() -> None:
    with pytest.raises(ModelError) as caught:
        Preprocessor.from_manifest(manifest(input_size=None))
    assert caught.value.code == "model.input_mismatch"


def test_warp_matrix_maps_pixel_centres() -> None:
    transform = ImageTransform((200, 100), (64, 64), (0.32, 0.32), (0, 16))
    matrix = transform.input_to_original_matrix(source_scale=4)
    # original pixel (0, 0) has its centre at (0.5, 0.5) -> input (0.16, 16.16) -> proto
    # (0.04, 4.04), i.e. index (0.04 - 0.5, 4.04 - 0.5)
    np.testing.assert_allclose(matrix @ [0, 0, 1], [-0.46, 3.54])
