"""From BGR ``uint8`` images to the network's NCHW ``float32`` batch, and back to image pixels.

Each image is resized on its own (sizes differ); the canvas of the whole batch is then
converted in one vectorised pass (channel order, ``scale``, ``mean``/``std``). Every image gets
an :class:`ImageTransform`: the affine map ``input = original * scale + offset`` that the
decoders invert to put boxes, keypoints and masks back in the original pixels.

Resize modes (``model.json`` ``resize``):

- ``letterbox``: keep the aspect ratio, pad with ``pad_value`` and centre the image exactly as
  ultralytics' ``LetterBox`` does (``cv2.INTER_LINEAR``; borders ``round(d - 0.1)`` and
  ``round(d + 0.1)``), so boxes match an ultralytics prediction.
- ``stretch``: resize to the input size, ignoring the aspect ratio.
- ``center-crop``: resize the short side to ``resize_short_side`` (default: the input size)
  as torchvision's ``Resize(int)`` does, then crop the centre. Shrinking uses
  ``cv2.INTER_AREA``, closer to the antialiased resize classifiers were trained with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from visionflow.errors import ModelError
from visionflow.models.package import ModelManifest, ResizeMode


@dataclass(frozen=True)
class ImageTransform:
    """Where one original image lies in the network input: ``input = original * scale + offset``."""

    #: (width, height) of the original image
    original_size: tuple[int, int]
    #: (width, height) of the network input
    input_size: tuple[int, int]
    #: (x, y) scale factors
    scale: tuple[float, float]
    #: (x, y) offsets in input pixels (letterbox padding, minus the crop origin)
    offset: tuple[float, float]

    def points_to_original(self, xy: np.ndarray, *, clip: bool = True) -> np.ndarray:
        """Input-pixel points ``(..., 2)`` to original pixels (clipped to the image)."""
        scale = np.asarray(self.scale, dtype=np.float32)
        offset = np.asarray(self.offset, dtype=np.float32)
        out = (np.asarray(xy, dtype=np.float32) - offset) / scale
        if clip:
            width, height = self.original_size
            np.clip(out[..., 0], 0, width, out=out[..., 0])
            np.clip(out[..., 1], 0, height, out=out[..., 1])
        return out

    def boxes_to_original(self, xyxy: np.ndarray, *, clip: bool = True) -> np.ndarray:
        """Input-pixel boxes ``(N, 4)`` x1, y1, x2, y2 to original pixels (clipped)."""
        boxes = np.asarray(xyxy, dtype=np.float32).reshape(-1, 2, 2)
        return self.points_to_original(boxes, clip=clip).reshape(-1, 4)

    def input_to_original_matrix(self, source_scale: float = 1.0) -> np.ndarray:
        """The 2x3 affine map from original pixels to a map of the input at ``1/source_scale``.

        For ``cv2.warpAffine(..., flags=WARP_INVERSE_MAP)``: it maps each original pixel
        centre to the matching position in a map sampled every ``source_scale`` input pixels
        (segmentation prototypes are 1/4 of the input), with half-pixel centres as
        ``cv2.resize`` and ``torch.nn.functional.interpolate`` use.
        """
        sx, sy = self.scale
        ox, oy = self.offset
        return np.array(
            [
                [sx / source_scale, 0.0, (0.5 * sx + ox) / source_scale - 0.5],
                [0.0, sy / source_scale, (0.5 * sy + oy) / source_scale - 0.5],
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class Preprocessor:
    """Turns a list of BGR images into one batch for a network (immutable, thread-safe)."""

    #: (width, height) of the network input
    input_size: tuple[int, int]
    resize: ResizeMode = "letterbox"
    pad_value: int = 114
    channel_order: str = "rgb"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    #: center-crop: the short side before cropping (None: the input's short side)
    resize_short_side: int | None = None
    dtype: type[np.floating] = np.float32

    @classmethod
    def from_manifest(
        cls,
        manifest: ModelManifest,
        *,
        input_size: tuple[int, int] | None = None,
        dtype: type[np.floating] = np.float32,
    ) -> Preprocessor:
        """The preprocessing a manifest describes; ``input_size`` overrides the manifest's."""
        size = input_size or manifest.input_size
        if size is None:
            raise ModelError(
                f"the package of '{manifest.model_id}' gives no input_size and the network does "
                'not fix one; add "input_size": [width, height] to model.json',
                code="model.input_mismatch",
                loc=manifest.model_id,
            )
        short = getattr(manifest, "resize_short_side", None)
        return cls(
            input_size=(int(size[0]), int(size[1])),
            resize=manifest.resize,
            pad_value=int(manifest.pad_value),
            channel_order=manifest.channel_order,
            scale=float(manifest.scale),
            mean=tuple(float(m) for m in manifest.mean),  # type: ignore[arg-type]
            std=tuple(float(s) for s in manifest.std),  # type: ignore[arg-type]
            resize_short_side=int(short) if short else None,
            dtype=dtype,
        )

    def __call__(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, list[ImageTransform]]:
        """``(N, 3, H, W)`` batch and one transform per image."""
        width, height = self.input_size
        canvas = np.full((len(images), height, width, 3), self.pad_value, dtype=np.uint8)
        transforms = []
        for index, image in enumerate(images):
            transforms.append(self._place(_as_bgr(image, index), canvas[index]))
        return self._normalise(canvas), transforms

    def _place(self, image: np.ndarray, target: np.ndarray) -> ImageTransform:
        """Resize ``image`` into ``target`` (a view of the batch canvas)."""
        height, width = image.shape[:2]
        in_w, in_h = self.input_size
        if self.resize == "letterbox":
            return self._letterbox(image, target)
        if self.resize == "stretch":
            target[:] = _resize(image, (in_w, in_h))
            return ImageTransform(
                (width, height), (in_w, in_h), (in_w / width, in_h / height), (0, 0)
            )
        return self._center_crop(image, target)

    def _letterbox(self, image: np.ndarray, target: np.ndarray) -> ImageTransform:
        # same arithmetic as ultralytics.data.augment.LetterBox (center=True, scaleup=True)
        height, width = image.shape[:2]
        in_w, in_h = self.input_size
        ratio = min(in_h / height, in_w / width)
        new_w, new_h = round(width * ratio), round(height * ratio)
        left = round((in_w - new_w) / 2 - 0.1)
        top = round((in_h - new_h) / 2 - 0.1)
        resized = image if (new_w, new_h) == (width, height) else _resize(image, (new_w, new_h))
        target[top : top + new_h, left : left + new_w] = resized
        return ImageTransform((width, height), (in_w, in_h), (ratio, ratio), (left, top))

    def _center_crop(self, image: np.ndarray, target: np.ndarray) -> ImageTransform:
        height, width = image.shape[:2]
        in_w, in_h = self.input_size
        short = self.resize_short_side or min(in_w, in_h)
        # torchvision.transforms.Resize(int): the short side becomes `short`, the long side
        # is truncated; grow further when a non-square input would not be covered
        if width <= height:
            new_w, new_h = short, int(short * height / width)
        else:
            new_w, new_h = int(short * width / height), short
        if new_w < in_w or new_h < in_h:
            grow = max(in_w / new_w, in_h / new_h)
            new_w, new_h = max(in_w, round(new_w * grow)), max(in_h, round(new_h * grow))
        shrink = new_w < width and new_h < height
        resized = _resize(image, (new_w, new_h), cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        left = round((new_w - in_w) / 2)
        top = round((new_h - in_h) / 2)
        target[:] = resized[top : top + in_h, left : left + in_w]
        return ImageTransform(
            (width, height), (in_w, in_h), (new_w / width, new_h / height), (-left, -top)
        )

    def _normalise(self, canvas: np.ndarray) -> np.ndarray:
        # (x * scale - mean) / std == x * (scale / std) - mean / std: one multiply-add
        if self.channel_order == "rgb":
            canvas = canvas[..., ::-1]
        batch = np.ascontiguousarray(canvas.transpose(0, 3, 1, 2), dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        gain = (np.float32(self.scale) / std).reshape(1, 3, 1, 1)
        bias = (np.asarray(self.mean, dtype=np.float32) / std).reshape(1, 3, 1, 1)
        batch *= gain
        batch -= bias
        return batch if self.dtype is np.float32 else batch.astype(self.dtype)


def preprocess(
    images: Sequence[np.ndarray], manifest: ModelManifest
) -> tuple[np.ndarray, list[ImageTransform]]:
    """Shortcut: ``Preprocessor.from_manifest(manifest)(images)``."""
    return Preprocessor.from_manifest(manifest)(images)


def _resize(
    image: np.ndarray, size: tuple[int, int], interpolation: int = cv2.INTER_LINEAR
) -> np.ndarray:
    return cv2.resize(image, size, interpolation=interpolation)


def _as_bgr(image: np.ndarray, index: int) -> np.ndarray:
    """A 3-channel uint8 view or copy of an input image (grey and BGRA are accepted)."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or array.size == 0:
        raise ModelError(
            f"image {index} must be a non-empty BGR uint8 array (H, W, 3); got "
            f"{array.dtype} with shape {array.shape}",
            code="model.invalid_image",
            loc=f"images[{index}]",
        )
    if array.ndim == 2 or array.shape[2] == 1:
        return cv2.cvtColor(array.reshape(array.shape[:2]), cv2.COLOR_GRAY2BGR)
    if array.shape[2] == 4:
        return array[..., :3]
    if array.shape[2] != 3:
        raise ModelError(
            f"image {index} has {array.shape[2]} channels; expected 3 (BGR), 4 (BGRA) or 1",
            code="model.invalid_image",
            loc=f"images[{index}]",
        )
    return array


__all__ = ["ImageTransform", "Preprocessor", "preprocess"]
