"""``cache_set`` / ``cache_get``: keep a value in memory and read it back, in a later frame or
in another step.

Entries are namespaced by the frame's ``video_identifier`` (a still image is a video of its
own, named after the image), so two streams never see each other's entries. ``cache_get``
answers ``False`` for a key that was never set, as the reference does.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import Field

from visionflow.blocks.base import (
    Block,
    BlockContext,
    BlockInfo,
    BlockManifest,
    DataSelector,
    Output,
)
from visionflow.blocks.fusion._cache_store import CacheHolder, store_for
from visionflow.blocks.fusion.temporal import video_metadata_of
from visionflow.blocks.registry import register_block
from visionflow.data.image import Image
from visionflow.spec.kinds import IMAGE_KIND, LIST_OF_VALUES_KIND, STRING_KIND, WILDCARD_KIND

#: What ``cache_get`` answers for a key that holds nothing.
MISSING_ENTRY = False


def _namespace(image: Image) -> str:
    return video_metadata_of(image).video_identifier or "default"


class CacheGetManifest(BlockManifest):
    type: Literal["roboflow_core/cache_get@v1"]
    image: DataSelector(IMAGE_KIND) = Field(
        description="The frame whose video identifier names the cache namespace to read.",
        examples=["$inputs.image"],
    )
    key: Union[DataSelector(STRING_KIND), str] = Field(
        description="The entry to read.",
        examples=["my_cache_key", "$inputs.cache_key"],
    )

    block_info = BlockInfo(
        name="Cache Get",
        short="Read a value stored by Cache Set (false when there is none).",
        category="fusion",
    )
    outputs = (Output("output", WILDCARD_KIND),)


@register_block
class CacheGetBlock(Block):
    """``output`` = the value stored under ``key`` for this video, or ``False``."""

    manifest = CacheGetManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        self._cache = CacheHolder(store_for(context.init_parameters))

    def run(self, image: Image, key: str) -> dict[str, Any]:
        return {"output": self._cache.get(_namespace(image), key, MISSING_ENTRY)}


class CacheSetManifest(BlockManifest):
    type: Literal["roboflow_core/cache_set@v1"]
    image: DataSelector(IMAGE_KIND) = Field(
        description="The frame whose video identifier names the cache namespace to write.",
        examples=["$inputs.image"],
    )
    key: Union[DataSelector(STRING_KIND), str] = Field(
        description="The entry to write.",
        examples=["my_cache_key", "$inputs.cache_key"],
    )
    value: DataSelector(WILDCARD_KIND, LIST_OF_VALUES_KIND) = Field(
        description="The value to store (any kind).",
        examples=["$steps.detection.predictions", "$inputs.metadata"],
    )

    block_info = BlockInfo(
        name="Cache Set",
        short="Store a value in memory for Cache Get to read later.",
        category="fusion",
    )
    outputs = (Output("output", WILDCARD_KIND),)


@register_block
class CacheSetBlock(Block):
    """Stores ``value`` under ``key`` for this video; ``output`` = ``value``."""

    manifest = CacheSetManifest

    def __init__(self, context: BlockContext) -> None:
        super().__init__(context)
        self._cache = CacheHolder(store_for(context.init_parameters))

    def run(self, image: Image, key: str, value: Any) -> dict[str, Any]:
        self._cache.set(_namespace(image), key, value)
        return {"output": value}


__all__ = [
    "MISSING_ENTRY",
    "CacheGetBlock",
    "CacheGetManifest",
    "CacheSetBlock",
    "CacheSetManifest",
]
