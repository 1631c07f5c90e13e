"""``make bench``: every benchmark, one after the other, each printing its table."""

from __future__ import annotations

import runpy
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = [
    "bench_import.py",
    "bench_compile.py",
    "bench_engine.py",
    "bench_python_blocks.py",
    "bench_models.py",
    "bench_server.py",
]

if __name__ == "__main__":
    for name in BENCHMARKS:
        print(f"\n=== {name} ===")
        runpy.run_path(str(HERE / name), run_name="__main__")
