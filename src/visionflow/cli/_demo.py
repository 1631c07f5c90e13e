"""``visionflow demo``: detect -> crop -> classify on sample photos, with the default models."""

from __future__ import annotations

import base64
import time
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

DEMO_WORKFLOW = "detect_crop_classify.json"


def demo_files() -> tuple[Path, list[Path]]:
    """The packaged demo workflow and sample photos."""
    root = Path(str(resources.files("visionflow._demo")))
    return root / DEMO_WORKFLOW, sorted((root / "images").glob("*.jpg"))


def run_demo(
    images: list[Path], output_dir: Path, max_concurrent_steps: int
) -> list[dict[str, Any]]:
    from rich.console import Console
    from rich.table import Table

    from visionflow.engine import Workflow
    from visionflow.models.defaults import prepare_default_models
    from visionflow.models.store import ModelStore

    console = Console(highlight=False)
    workflow_path, samples = demo_files()
    images = images or samples
    store = ModelStore()
    started = time.perf_counter()
    prepare_default_models(store.root)
    console.print(f"models ready in {store.root} ({time.perf_counter() - started:.1f} s)")
    workflow = Workflow.load(workflow_path, max_concurrent_steps=max_concurrent_steps)
    started = time.perf_counter()
    results = workflow.run(image=[str(p) for p in images], serialize=True)
    elapsed = time.perf_counter() - started
    table = Table(title=f"detect -> crop -> classify on {len(images)} photos ({elapsed:.2f} s)")
    for column in ("image", "object", "confidence", "crop's top class", "class confidence"):
        table.add_column(column)
    output_dir.mkdir(parents=True, exist_ok=True)
    for path, result in zip(images, results, strict=True):
        crops = result["crop_classes"] or []
        for detection, crop in zip(result["detections"]["predictions"], crops, strict=True):
            table.add_row(
                path.name,
                detection["class"],
                f"{detection['confidence']:.2f}",
                (crop or {}).get("top", "-"),
                f"{(crop or {}).get('confidence', 0):.2f}",
            )
        annotated = output_dir / f"{path.stem}_annotated.jpg"
        annotated.write_bytes(base64.b64decode(result["annotated"]["value"]))
        result["annotated"] = {"type": "file", "value": annotated.name}
    (output_dir / "result.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    console.print(table)
    console.print(f"annotated images and result.json written to {output_dir}/")
    return results
