"""Fixtures for the data layer: small synthetic images with lineage."""

from __future__ import annotations

import numpy as np
import pytest

from visionflow.data import Image


@pytest.fixture
def root_image() -> Image:
    """A 100x200 (h x w) input image, id ``image``, with a gradient so crops differ."""
    array = np.zeros((100, 200, 3), dtype=np.uint8)
    array[:, :, 0] = np.arange(200, dtype=np.uint8)[None, :]
    return Image(array, parent_id="image")


@pytest.fixture
def crop_image(root_image: Image) -> Image:
    """A 40x50 crop of ``root_image`` at offset (x=30, y=20), id ``crop-1``."""
    return root_image.crop(30, 20, 80, 60, crop_id="crop-1")


@pytest.fixture
def nested_crop_image(crop_image: Image) -> Image:
    """A 20x20 crop of ``crop_image`` at (5, 10): (35, 30) in the root."""
    return crop_image.crop(5, 10, 25, 30, crop_id="crop-2")
