"""Compile time of a 10-step document: first compilation and cached (target: < 50 µs)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_of, cheap_document, print_table, us, write_results

from visionflow.compiler import clear_compile_cache, compile_workflow


def main() -> None:
    document = cheap_document(10)
    compile_workflow(copy.deepcopy(document))  # load the block catalogue once

    def first() -> None:
        clear_compile_cache()
        compile_workflow(document)

    first_s = best_of(first, number=20)
    compile_workflow(document)
    cached_s = best_of(lambda: compile_workflow(document), number=2000)
    print_table(
        "Compile a 10-step document",
        ["case", "time"],
        [
            ["first compilation", us(first_s)],
            ["cached (same content)", us(cached_s)],
            ["ratio", f"{first_s / cached_s:.0f}x"],
        ],
    )
    print(f"target cached < 50 µs: {'met' if cached_s < 50e-6 else 'MISSED'}")
    print(f"results: {write_results('compile', {'first_s': first_s, 'cached_s': cached_s})}")


if __name__ == "__main__":
    main()
