"""cache_set / cache_get: entries per video, kept across runs of one engine, shared by the
engine's blocks, released with them."""

from __future__ import annotations

import gc
import threading
from typing import Any

import numpy as np
import pytest

import visionflow
from visionflow.blocks.base import BlockContext
from visionflow.blocks.fusion._cache_store import (
    CACHE_STORE_INIT_PARAMETER,
    DEFAULT_CACHE_STORE,
    CacheHolder,
    CacheStore,
    store_for,
)
from visionflow.blocks.fusion.cache import CacheGetBlock, CacheSetBlock
from visionflow.data.image import Image, VideoMetadata


def _frame(video: str | None, number: int = 0) -> Image:
    metadata = None if video is None else VideoMetadata(video, number)
    return Image(np.zeros((4, 4, 3), dtype=np.uint8), parent_id="image", video_metadata=metadata)


def _context(store: CacheStore) -> BlockContext:
    return BlockContext("c", "roboflow_core/cache_get@v1", {CACHE_STORE_INIT_PARAMETER: store})


@pytest.mark.parametrize(
    ("writes", "read_video", "key", "expected"),
    [
        ([], "a", "k", False),  # nothing stored: false
        ([("a", "k", 1)], "a", "k", 1),
        ([("a", "k", 1)], "b", "k", False),  # another video's namespace
        ([("a", "k", 1), ("a", "k", {"x": [1]})], "a", "k", {"x": [1]}),
        ([("a", "k", None)], "a", "k", None),  # a stored None is returned as None
        ([(None, "k", "still")], None, "k", "still"),  # a still image is its own namespace
    ],
)
def test_get_returns_what_set_stored(
    writes: list[tuple[str | None, str, Any]], read_video: str | None, key: str, expected: Any
) -> None:
    store = CacheStore()
    setter = CacheSetBlock(_context(store))
    getter = CacheGetBlock(_context(store))
    for video, write_key, value in writes:
        assert setter.run(image=_frame(video), key=write_key, value=value) == {"output": value}
    assert getter.run(image=_frame(read_video), key=key) == {"output": expected}


def test_namespace_lives_while_a_block_holds_it() -> None:
    store = CacheStore()
    holder = CacheHolder(store)
    holder.set("v", "k", 1)
    other = CacheHolder(store)
    assert other.get("v", "k", False) == 1
    holder.close()
    assert store.namespaces() == ["v"]  # still held by `other`
    del other
    gc.collect()
    assert store.namespaces() == []


def test_store_for_engine_or_default() -> None:
    own = CacheStore()
    assert store_for({}) is DEFAULT_CACHE_STORE
    assert store_for({CACHE_STORE_INIT_PARAMETER: own}) is own
    with pytest.raises(TypeError, match="CacheStore"):
        store_for({CACHE_STORE_INIT_PARAMETER: {}})


def test_concurrent_writes_are_safe() -> None:
    store = CacheStore()
    holder = CacheHolder(store)

    def write(start: int) -> None:
        for i in range(start, start + 200):
            holder.set(f"v{i % 3}", str(i), i)

    threads = [threading.Thread(target=write, args=(n * 200,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(holder.get(f"v{i % 3}", str(i), None) == i for i in range(800))


SPEC = {
    "version": "1.0",
    "inputs": [
        {"type": "WorkflowImage", "name": "image"},
        {"type": "WorkflowBatchInput", "name": "count"},
    ],
    "steps": [
        # read before write: cache_get sees what the previous frame stored
        {
            "type": "roboflow_core/cache_get@v1",
            "name": "previous",
            "image": "$inputs.image",
            "key": "count",
        },
        {
            "type": "roboflow_core/cache_set@v1",
            "name": "store",
            "image": "$inputs.image",
            "key": "count",
            "value": "$inputs.count",
        },
    ],
    "outputs": [
        {"type": "JsonField", "name": "previous", "selector": "$steps.previous.output"},
        {"type": "JsonField", "name": "stored", "selector": "$steps.store.output"},
    ],
}


def _video_input(video: str, number: int) -> dict[str, Any]:
    return {
        "type": "numpy_object",
        "value": np.zeros((8, 8, 3), dtype=np.uint8),
        "video_metadata": {"video_identifier": video, "frame_number": number},
    }


def test_across_runs_of_one_engine_per_video() -> None:
    store = CacheStore()
    engine = visionflow.ExecutionEngine.init(
        workflow_definition=SPEC, init_parameters={CACHE_STORE_INIT_PARAMETER: store}
    )
    seen = []
    for number, (video, count) in enumerate([("a", 1), ("a", 2), ("b", 10), ("a", 3)]):
        (result,) = engine.run(
            runtime_parameters={"image": _video_input(video, number), "count": count}
        )
        seen.append((result["previous"], result["stored"]))
    assert seen == [(False, 1), (1, 2), (False, 10), (2, 3)]
    assert store.namespaces() == ["a", "b"]
    del engine
    gc.collect()
    assert store.namespaces() == []  # entries go with the engine's blocks
