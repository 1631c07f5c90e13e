"""The block registry: lookup by identifier or alias, registration, description.

Core blocks register when their modules are imported (lazily, on the first lookup, so that
``import visionflow`` stays fast). Third-party packages add blocks through the entry-point group
``visionflow.blocks``: each entry point names a module (imported for its ``@register_block``
decorators) or a callable returning a list of ``Block`` classes.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from visionflow.blocks.base import Block, BlockManifest
from visionflow.errors import CompileError

#: packages of the core catalogue: every public module in them is imported on first use.
CORE_BLOCK_PACKAGES: tuple[str, ...] = (
    "visionflow.blocks.transformations",
    "visionflow.blocks.fusion",
    "visionflow.blocks.formatters",
    "visionflow.blocks.flow_control",
    "visionflow.blocks.visualizations",
    "visionflow.blocks.classical_cv",
    "visionflow.blocks.analytics",
    "visionflow.blocks.sinks",
    "visionflow.blocks.models",
)


def core_block_modules() -> list[str]:
    """Every module of the core catalogue (private ``_modules`` hold helpers, not blocks)."""
    names = []
    for package_name in CORE_BLOCK_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                names.append(f"{package_name}.{info.name}")
    return sorted(names)


ENTRY_POINT_GROUP = "visionflow.blocks"


@dataclass(frozen=True)
class BlockEntry:
    identifier: str
    aliases: tuple[str, ...]
    block_class: type[Block]
    source: str  # "core" | "plugin:<name>" | "dynamic"

    @property
    def manifest(self) -> type[BlockManifest]:
        return self.block_class.manifest


class BlockRegistry:
    """Maps identifiers and aliases to block classes."""

    def __init__(self, *, load_core: bool = True) -> None:
        self._by_type: dict[str, BlockEntry] = {}
        self._entries: dict[str, BlockEntry] = {}
        self._lock = threading.RLock()
        self._loaded = not load_core
        self.version = 0  # bumped on every change; part of the compile cache key

    # -- registration -----------------------------------------------------------------------
    def register(self, block_class: type[Block], *, source: str = "core") -> type[Block]:
        manifest = getattr(block_class, "manifest", None)
        if not (isinstance(manifest, type) and issubclass(manifest, BlockManifest)):
            raise TypeError(f"{block_class.__name__}.manifest must be a BlockManifest subclass")
        identifier = manifest.identifier()
        entry = BlockEntry(identifier, manifest.aliases(), block_class, source)
        with self._lock:
            for name in (identifier, *entry.aliases):
                existing = self._by_type.get(name)
                if existing is not None and existing.block_class is not block_class:
                    raise ValueError(
                        f"block type '{name}' is already registered by "
                        f"{existing.block_class.__module__}.{existing.block_class.__name__}"
                    )
            for name in (identifier, *entry.aliases):
                self._by_type[name] = entry
            self._entries[identifier] = entry
            self.version += 1
        return block_class

    def unregister(self, identifier: str) -> None:
        with self._lock:
            entry = self._entries.pop(identifier, None)
            if entry is None:
                return
            for name in (entry.identifier, *entry.aliases):
                self._by_type.pop(name, None)
            self.version += 1

    # -- lookup -----------------------------------------------------------------------------
    def ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for module_name in core_block_modules():
                self._register_module(importlib.import_module(module_name), source="core")
            _load_entry_points(self)

    def _register_module(self, module: Any, *, source: str) -> None:
        """Register the blocks a module defines (its decorators only fill the default one)."""
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Block)
                and value.__module__ == module.__name__
                and isinstance(getattr(value, "manifest", None), type)
                and not self.contains(value.manifest.identifier())
            ):
                self.register(value, source=source)

    def get(self, block_type: str) -> BlockEntry:
        self.ensure_loaded()
        entry = self._by_type.get(block_type)
        if entry is None:
            raise unknown_block_error(block_type, self._by_type)
        return entry

    def find(self, block_type: str) -> BlockEntry | None:
        self.ensure_loaded()
        return self._by_type.get(block_type)

    def contains(self, block_type: str) -> bool:
        """True when registered already (does not load the catalogue)."""
        return block_type in self._by_type

    def entries(self) -> list[BlockEntry]:
        self.ensure_loaded()
        return sorted(self._entries.values(), key=lambda e: e.identifier)

    def known_types(self) -> Iterable[str]:
        self.ensure_loaded()
        return self._by_type.keys()


def unknown_block_error(
    block_type: str, known: Iterable[str], loc: str | None = None
) -> CompileError:
    known = list(known)
    suggestions = _did_you_mean(block_type, known)
    hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
    return CompileError(
        f"unknown block type '{block_type}'{hint} "
        "(run `visionflow blocks` to list the installed blocks)",
        code="compile.unknown_block",
        loc=loc,
    )


def _did_you_mean(value: str, candidates: list[str]) -> list[str]:
    matches = difflib.get_close_matches(value, candidates, n=3, cutoff=0.6)
    if matches:
        return matches
    # "dynamic_crop" for "roboflow_core/dynamic_crop@v1": compare the bare names too
    bare = value.split("/")[-1].split("@")[0].lower()
    by_bare: dict[str, str] = {}
    for candidate in candidates:
        by_bare.setdefault(candidate.split("/")[-1].split("@")[0].lower(), candidate)
    return [by_bare[m] for m in difflib.get_close_matches(bare, list(by_bare), n=3, cutoff=0.75)]


def _load_entry_points(registry: BlockRegistry) -> None:
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry_point.load()
        if callable(loaded) and not isinstance(loaded, type):
            classes = loaded()
            for block_class in classes:
                registry.register(block_class, source=f"plugin:{entry_point.name}")
        elif isinstance(loaded, type) and issubclass(loaded, Block):
            registry.register(loaded, source=f"plugin:{entry_point.name}")
        else:  # a module of block classes
            registry._register_module(loaded, source=f"plugin:{entry_point.name}")


#: the process-wide registry used by default.
default_registry = BlockRegistry()


def register_block(block_class: type[Block]) -> type[Block]:
    """Class decorator registering a block in the default registry.

    >>> # @register_block
    >>> # class MyBlock(Block): manifest = MyManifest; def run(self, ...): ...
    """
    return default_registry.register(block_class, source=_source_of(block_class))


def _source_of(block_class: type[Block]) -> str:
    return "core" if block_class.__module__.startswith("visionflow.") else "plugin"


def describe_block(entry: BlockEntry) -> dict[str, Any]:
    """The reference's description of one block (``/workflows/blocks/describe`` shape)."""
    manifest = entry.manifest
    info = manifest.block_info
    return {
        "manifest_type_identifier": entry.identifier,
        "manifest_type_identifier_aliases": list(entry.aliases),
        "human_friendly_block_name": info.name,
        "block_source": "workflows_core" if entry.source == "core" else entry.source,
        "fully_qualified_block_class_name": (
            f"{entry.block_class.__module__}.{entry.block_class.__name__}"
        ),
        "block_schema": block_schema(manifest),
        "outputs_manifest": [o.describe() for o in manifest.outputs],
        "output_dimensionality_offset": manifest.output_dimensionality_offset,
        "input_dimensionality_offsets": {
            name: manifest.input_dimensionality_offsets.get(name, 0)
            for name, spec in manifest.field_specs().items()
            if spec.selector_kinds is not None
        },
        "dimensionality_reference_property": manifest.dimensionality_reference,
        "accepts_batch_input": bool(manifest.batch_fields or manifest.batch_or_scalar_fields),
        "accepts_empty_values": manifest.accepts_empty_values,
        "execution_engine_compatibility": ">=1.0.0,<2.0.0",
    }


def block_schema(manifest: type[BlockManifest]) -> dict[str, Any]:
    cached = manifest.__dict__.get("_vf_schema")
    if cached is None:
        info = manifest.block_info
        cached = manifest.model_json_schema(by_alias=False)
        cached["name"] = info.name
        cached["short_description"] = info.short
        cached["long_description"] = info.long or info.short
        cached["license"] = info.license
        cached["block_type"] = info.category
        manifest._vf_schema = cached  # type: ignore[attr-defined]
    return cached


def describe_blocks(registry: BlockRegistry | None = None) -> list[dict[str, Any]]:
    """Describe every registered block: identifiers, aliases, JSON Schema, outputs, kinds."""
    registry = registry or default_registry
    return [describe_block(entry) for entry in registry.entries()]


def iter_block_classes(modules: Iterable[str]) -> Callable[[], list[type[Block]]]:
    """Helper for plugins: an entry point returning the blocks found in ``modules``."""

    def _load() -> list[type[Block]]:
        found: list[type[Block]] = []
        for module_name in modules:
            module = importlib.import_module(module_name)
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, Block) and value is not Block:
                    found.append(value)
        return found

    return _load


__all__ = [
    "BlockEntry",
    "BlockRegistry",
    "default_registry",
    "describe_block",
    "describe_blocks",
    "register_block",
]
