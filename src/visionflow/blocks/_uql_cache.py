"""Build query-language functions once per definition, not once per element.

A block instance lives as long as its engine and receives the same manifest objects (its
``operations`` list, its ``StatementGroup``) on every call, so keying by object identity finds
them in O(1). The cache keeps a reference to each definition, which stops its ``id`` from being
reused by another object while the entry exists.

>>> built = []
>>> cache = CompiledCache(lambda d: built.append(d) or len(d))
>>> ops = ["a", "b"]
>>> cache.get(ops), cache.get(ops), len(built)
(2, 2, 1)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

F = TypeVar("F")


class CompiledCache(Generic[F]):
    """Maps a definition object to the function ``build`` made from it."""

    def __init__(self, build: Callable[[Any], F], max_entries: int = 64) -> None:
        self._build = build
        self._max_entries = max_entries
        self._entries: dict[int, tuple[Any, F]] = {}
        self._lock = threading.Lock()

    def get(self, definition: Any) -> F:
        entry = self._entries.get(id(definition))
        if entry is not None and entry[0] is definition:
            return entry[1]
        function = self._build(definition)
        with self._lock:
            # Direct callers may pass a fresh definition every time: bound the growth.
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[id(definition)] = (definition, function)
        return function


__all__ = ["CompiledCache"]
