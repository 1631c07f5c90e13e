"""Ways of putting OCR detections (words or characters) back into reading order.

Each function takes boxes (``xyxy``), their texts and a reading direction, and returns the
stitched text. ``by_tolerance`` buckets boxes into lines by their rounded top edge; ``by_gaps``
groups characters into words where the gap (relative to the characters' size) is unusually
wide (Otsu's threshold); ``by_collimation`` follows each line from box to box, which copes
with skewed or curved text.

>>> import numpy as np
>>> boxes = np.array([[50, 0, 60, 10], [0, 0, 10, 10], [0, 40, 10, 50]])
>>> by_tolerance(boxes, ["b", "a", "c"], "left_to_right", tolerance=10, delimiter="")
'ab\\nc'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

VERTICAL_DIRECTIONS = ("vertical_top_to_bottom", "vertical_bottom_to_top")
#: Directions whose lines are read from the far end (right to left, bottom to top).
_BACKWARD_DIRECTIONS = ("right_to_left", "vertical_bottom_to_top")


def line_separator(reading_direction: str) -> str:
    """Lines of horizontal text end with a newline; columns of vertical text with a space."""
    return " " if reading_direction in VERTICAL_DIRECTIONS else "\n"


def detect_reading_direction(xyxy: np.ndarray) -> str:
    """``left_to_right`` when boxes are wider than tall on average, else top to bottom."""
    if len(xyxy) == 0:
        return "left_to_right"
    widths = xyxy[:, 2] - xyxy[:, 0]
    heights = xyxy[:, 3] - xyxy[:, 1]
    return "left_to_right" if np.mean(widths) > np.mean(heights) else "vertical_top_to_bottom"


# ---------------------------------------------------------------------------------------------
# tolerance: lines are buckets of the rounded top edge
# ---------------------------------------------------------------------------------------------
def by_tolerance(
    xyxy: np.ndarray,
    texts: Sequence[str],
    reading_direction: str,
    tolerance: int,
    delimiter: str,
) -> str:
    """Boxes whose top edges round to the same multiple of ``tolerance`` form a line."""
    if tolerance <= 0:
        raise ValueError(f"tolerance must be greater than zero, got {tolerance}")
    boxes = np.asarray(xyxy).round().astype(int)
    if reading_direction in VERTICAL_DIRECTIONS:
        boxes = boxes[:, [1, 0, 3, 2]]  # columns are handled as lines of swapped boxes
    line_keys = np.round(boxes[:, 1] / tolerance) * tolerance
    keys = np.unique(line_keys)
    if reading_direction == "vertical_bottom_to_top":
        keys = keys[::-1]
    backward = reading_direction in _BACKWARD_DIRECTIONS
    parts: list[str] = []
    for number, key in enumerate(keys):
        members = np.flatnonzero(line_keys == key)
        starts = boxes[members, 0]
        order = (-starts).argsort() if backward else starts.argsort()
        parts.extend(texts[i] for i in members[order])
        if number < len(keys) - 1:
            parts.append(line_separator(reading_direction))
    return delimiter.join(parts)


# ---------------------------------------------------------------------------------------------
# otsu: words split where the normalised gap is wide
# ---------------------------------------------------------------------------------------------
def otsu_threshold(gaps: np.ndarray) -> tuple[float, bool]:
    """The gap that best separates two groups (Otsu), and whether there are two groups.

    With fewer than two gaps, or without clearly positive word gaps, the distribution is
    taken to be one group (a single word).
    """
    if len(gaps) < 2:
        return 0.0, False
    _, edges = np.histogram(gaps, bins=min(50, len(gaps)))  # bin centres are the candidates
    best_threshold = best_variance = best_below = best_above = 0.0
    for threshold in (edges[:-1] + edges[1:]) / 2:
        below, above = gaps[gaps <= threshold], gaps[gaps > threshold]
        if len(below) == 0 or len(above) == 0:
            continue
        variance = len(below) * len(above) * (below.mean() - above.mean()) ** 2
        if variance > best_variance:
            best_variance, best_threshold = variance, threshold
            best_below, best_above = below.mean(), above.mean()
    spread = gaps.std()
    separation = abs(best_above - best_below)
    ratio = separation / spread if spread > 0 else 0
    # Real word gaps are at least about a third of a character wide.
    well_separated = ratio > 1.5 and separation > 0.3
    return best_threshold, bool(best_above > 0.3 and (separation > 0.3 or well_separated))


def by_gaps(
    xyxy: np.ndarray,
    texts: Sequence[str],
    reading_direction: str,
    delimiter: str,
    threshold_multiplier: float,
) -> str:
    """Lines by centre height; words where the gap between characters exceeds Otsu's threshold.

    Gaps are divided by the mean width of the two characters, so the result does not depend
    on the resolution. Words are joined with a space (or ``delimiter`` when one is given).
    """
    axis = (1, 0) if reading_direction in VERTICAL_DIRECTIONS else (0, 1)
    along = (xyxy[:, axis[0]] + xyxy[:, axis[0] + 2]) / 2
    across = (xyxy[:, axis[1]] + xyxy[:, axis[1] + 2]) / 2
    sizes = xyxy[:, axis[0] + 2] - xyxy[:, axis[0]]
    heights = xyxy[:, axis[1] + 2] - xyxy[:, axis[1]]
    lines = _lines_by_centre(across, float(np.median(heights)) * 0.5)
    line_positions = [np.mean([across[i] for i in line]) for line in lines]
    line_order = np.argsort(line_positions)
    if reading_direction == "vertical_bottom_to_top":
        line_order = line_order[::-1]
    backward = reading_direction in _BACKWARD_DIRECTIONS

    ordered_lines: list[list[int]] = []
    line_gaps: list[np.ndarray | None] = []
    all_gaps: list[float] = []
    for index in line_order:
        line = lines[index]
        if len(line) == 1:
            ordered_lines.append(line)
            line_gaps.append(None)
            continue
        order = np.argsort(along[line])
        if backward:
            order = order[::-1]
        members = [line[i] for i in order]
        centres, widths = along[members], sizes[members]
        gaps = _normalised_gaps(centres, widths, backward)
        ordered_lines.append(members)
        line_gaps.append(gaps)
        all_gaps.extend(gaps.tolist())

    threshold, two_groups = otsu_threshold(np.array(all_gaps))
    threshold *= threshold_multiplier
    word_separator = delimiter or " "
    parts: list[str] = []
    for members, member_gaps in zip(ordered_lines, line_gaps, strict=True):
        if member_gaps is None:
            parts.append(texts[members[0]])
        elif not two_groups:
            parts.append(delimiter.join(texts[i] for i in members))
        else:
            words: list[list[int]] = [[members[0]]]
            for gap, member in zip(member_gaps, members[1:], strict=True):
                if gap > threshold:
                    words.append([member])
                else:
                    words[-1].append(member)
            parts.append(
                word_separator.join(delimiter.join(texts[i] for i in word) for word in words)
            )
    return line_separator(reading_direction).join(parts)


def _lines_by_centre(across: np.ndarray, tolerance: float) -> list[list[int]]:
    """Walk the boxes by centre; a box joins the current line when it is near its mean."""
    order = np.argsort(across)
    lines: list[list[int]] = []
    current = [int(order[0])]
    current_position = across[order[0]]
    for index in order[1:]:
        if abs(across[index] - current_position) <= tolerance:
            current.append(int(index))
            current_position = np.mean([across[i] for i in current])
        else:
            lines.append(current)
            current = [int(index)]
            current_position = across[index]
    lines.append(current)
    return lines


def _normalised_gaps(centres: np.ndarray, widths: np.ndarray, backward: bool) -> np.ndarray:
    gaps = []
    for i in range(1, len(centres)):
        distance = centres[i - 1] - centres[i] if backward else centres[i] - centres[i - 1]
        half_widths = (widths[i - 1] + widths[i]) / 2
        gap = distance - half_widths
        gaps.append(gap / half_widths if half_widths > 0 else 0.0)
    return np.array(gaps)


# ---------------------------------------------------------------------------------------------
# collimate: follow each line from box to box
# ---------------------------------------------------------------------------------------------
@dataclass(eq=False)  # identity, not value: two boxes may look the same
class _Box:
    x: float
    y: float
    width: float
    height: float
    text: str


def _follows(parent: _Box, child: _Box, reading_direction: str, tolerance: int) -> bool:
    """True when ``child`` is next in reading order after ``parent`` (aligned and further on)."""
    if reading_direction in VERTICAL_DIRECTIONS:
        aligned = abs(parent.x - child.x) < max(parent.width, child.width) / 2 + tolerance
        if reading_direction == "vertical_top_to_bottom":
            return aligned and parent.y <= child.y
        return aligned and parent.y >= child.y
    aligned = abs(parent.y - child.y) < max(parent.height, child.height) / 2 + tolerance
    if reading_direction == "left_to_right":
        return aligned and parent.x <= child.x
    return aligned and parent.x >= child.x


def by_collimation(
    xyxy: np.ndarray,
    texts: Sequence[str],
    reading_direction: str,
    delimiter: str,
    tolerance: int,
) -> str:
    """Greedy chains: each line takes every box that follows its last box, until none is left."""
    boxes = [
        _Box((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, text)
        for (x1, y1, x2, y2), text in zip(xyxy, texts, strict=True)
    ]
    vertical = reading_direction in VERTICAL_DIRECTIONS
    remaining = sorted(
        boxes,
        key=(lambda b: b.y) if vertical else (lambda b: b.x),
        reverse=reading_direction in _BACKWARD_DIRECTIONS,
    )
    lines = [[remaining.pop(0)]]
    while remaining:
        found = False
        for line in lines:
            parent = line[-1]
            for box in list(remaining):
                if _follows(parent, box, reading_direction, tolerance):
                    found = True
                    line.append(box)
                    parent = box
                    remaining.remove(box)
        if not found and remaining:
            lines.append([remaining.pop(0)])
    lines.sort(
        key=lambda line: sum(b.x if vertical else b.y for b in line) / len(line),
        reverse=reading_direction == "vertical_bottom_to_top",
    )
    return line_separator(reading_direction).join(
        delimiter.join(b.text for b in line) for line in lines
    )


__all__ = [
    "VERTICAL_DIRECTIONS",
    "by_collimation",
    "by_gaps",
    "by_tolerance",
    "detect_reading_direction",
    "line_separator",
    "otsu_threshold",
]
