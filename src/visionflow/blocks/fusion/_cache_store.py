"""The in-memory store behind ``cache_set`` / ``cache_get``.

Entries live in namespaces (one per video identifier). A namespace exists while some block
instance holds it: each block retains the namespaces it touches and releases them when it is
garbage-collected, so a namespace outlives one run but not the engines that used it (as in
the reference). Engines share the process-wide ``DEFAULT_CACHE_STORE`` unless they are given
their own under the init parameter ``CACHE_STORE_INIT_PARAMETER``.

>>> store = CacheStore()
>>> holder = CacheHolder(store)
>>> holder.set("video-1", "count", 3)
>>> holder.get("video-1", "count", False), holder.get("video-2", "count", False)
(3, False)
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import Any

#: Engine init parameter that carries a ``CacheStore`` shared by the engine's cache blocks.
CACHE_STORE_INIT_PARAMETER = "workflows_core.cache_store"


class CacheStore:
    """Namespaced key-value entries with a reference count per namespace (thread-safe)."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Any]] = {}
        self._holders: dict[str, int] = {}
        self._lock = threading.Lock()

    def retain(self, namespace: str) -> None:
        """Keep ``namespace`` alive until a matching ``release``."""
        with self._lock:
            self._entries.setdefault(namespace, {})
            self._holders[namespace] = self._holders.get(namespace, 0) + 1

    def release(self, namespace: str) -> None:
        """Drop one hold on ``namespace``; its entries go with the last one."""
        with self._lock:
            count = self._holders.get(namespace, 0) - 1
            if count > 0:
                self._holders[namespace] = count
                return
            self._holders.pop(namespace, None)
            self._entries.pop(namespace, None)

    def get(self, namespace: str, key: str, default: Any) -> Any:
        with self._lock:
            return self._entries.get(namespace, {}).get(key, default)

    def set(self, namespace: str, key: str, value: Any) -> None:
        with self._lock:
            self._entries.setdefault(namespace, {})[key] = value

    def namespaces(self) -> list[str]:
        """Namespaces currently held (for tests and diagnostics)."""
        with self._lock:
            return sorted(self._entries)


DEFAULT_CACHE_STORE = CacheStore()


def store_for(init_parameters: Mapping[str, Any]) -> CacheStore:
    """The engine's store if it was given one, else the process-wide default."""
    store = init_parameters.get(CACHE_STORE_INIT_PARAMETER)
    if store is None:
        return DEFAULT_CACHE_STORE
    if not isinstance(store, CacheStore):
        raise TypeError(
            f"init parameter {CACHE_STORE_INIT_PARAMETER!r} must be a CacheStore, "
            f"got {type(store).__name__}"
        )
    return store


def _release_all(store: CacheStore, namespaces: set[str], lock: threading.Lock) -> None:
    with lock:
        for namespace in namespaces:
            store.release(namespace)
        namespaces.clear()


class CacheHolder:
    """One block's access to a store: retains each namespace it touches until collected."""

    def __init__(self, store: CacheStore) -> None:
        self._store = store
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _release_all, store, self._held, self._lock)

    def _hold(self, namespace: str) -> None:
        with self._lock:
            if namespace not in self._held:
                self._held.add(namespace)
                self._store.retain(namespace)

    def get(self, namespace: str, key: str, default: Any) -> Any:
        self._hold(namespace)
        return self._store.get(namespace, key, default)

    def set(self, namespace: str, key: str, value: Any) -> None:
        self._hold(namespace)
        self._store.set(namespace, key, value)

    def close(self) -> None:
        """Release every namespace now (also done when the holder is collected)."""
        self._finalizer()


__all__ = [
    "CACHE_STORE_INIT_PARAMETER",
    "DEFAULT_CACHE_STORE",
    "CacheHolder",
    "CacheStore",
    "store_for",
]
