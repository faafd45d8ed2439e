"""A small NumPy rasteriser for the motion renderer (SPEC section 2, ``speech.mp4``).

Shapes are drawn into a float32 RGB canvas ``(h, w, 3)`` holding values 0..255. Pixel
centres sit at integer coordinates: ``(x, y)`` is (column, row), x to the right, y down.
Every shape is anti-aliased by coverage: a pixel at distance ``d`` from the shape's edge
gets ``clip(0.5 - d, 0, 1)`` of the colour, alpha-blended over what is already there.
Each shape only touches the pixels of its bounding box, so a frame costs a few dozen small
vectorised operations. Drawing into a view of a larger canvas clips to that view.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np

Color = tuple[float, float, float]


def new_canvas(width: int, height: int, color: Color) -> np.ndarray:
    """A float32 canvas ``(height, width, 3)`` filled with ``color`` (0..255 per channel)."""
    canvas = np.empty((height, width, 3), dtype=np.float32)
    canvas[:] = np.asarray(color, dtype=np.float32)
    return canvas


def to_image(canvas: np.ndarray) -> np.ndarray:
    """Round a float canvas to a uint8 RGB image ``(h, w, 3)``."""
    return (canvas + 0.5).astype(np.uint8)


def _window(canvas: np.ndarray, x_min: float, x_max: float, y_min: float, y_max: float):
    """Integer pixel box ``(x0, x1, y0, y1)`` covering the given extent, clipped; or None."""
    height, width = canvas.shape[:2]
    x0 = max(math.floor(x_min), 0)
    x1 = min(math.ceil(x_max) + 1, width)
    y0 = max(math.floor(y_min), 0)
    y1 = min(math.ceil(y_max) + 1, height)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, x1, y0, y1


def _blend(region: np.ndarray, coverage: np.ndarray, color: Color) -> None:
    """``region += coverage * (color - region)`` in place; coverage ``(h, w)`` in [0, 1]."""
    paint = np.asarray(color, dtype=np.float32)
    region += coverage[..., None] * (paint - region)


def draw_capsule(
    canvas: np.ndarray,
    start: tuple[float, float],
    end: tuple[float, float],
    radius: float,
    color: Color,
) -> None:
    """A thick segment with round caps: every pixel within ``radius`` px of the segment."""
    ax, ay = start
    bx, by = end
    pad = radius + 1.0
    box = _window(
        canvas, min(ax, bx) - pad, max(ax, bx) + pad, min(ay, by) - pad, max(ay, by) + pad
    )
    if box is None:
        return
    x0, x1, y0, y1 = box
    dx = np.arange(x0, x1, dtype=np.float32) - np.float32(ax)  # (w,)
    dy = (np.arange(y0, y1, dtype=np.float32) - np.float32(ay))[:, None]  # (h, 1)
    ex, ey = bx - ax, by - ay
    length2 = ex * ex + ey * ey
    if length2 < 1e-9:
        distance2 = dx * dx + dy * dy  # (h, w)
    else:
        along = np.clip((dx * (ex / length2) + dy * (ey / length2)), 0.0, 1.0)  # (h, w)
        px = dx - along * np.float32(ex)
        py = dy - along * np.float32(ey)
        distance2 = px * px + py * py
    coverage = np.clip(np.float32(radius + 0.5) - np.sqrt(distance2), 0.0, 1.0)
    _blend(canvas[y0:y1, x0:x1], coverage, color)


def draw_disc(canvas: np.ndarray, centre: tuple[float, float], radius: float, color: Color) -> None:
    """A filled disc of ``radius`` px."""
    draw_capsule(canvas, centre, centre, radius, color)


def draw_ring(
    canvas: np.ndarray, centre: tuple[float, float], radius: float, thickness: float, color: Color
) -> None:
    """A circle outline of ``radius`` px, ``thickness`` px wide."""
    cx, cy = centre
    pad = radius + thickness + 1.0
    box = _window(canvas, cx - pad, cx + pad, cy - pad, cy + pad)
    if box is None:
        return
    x0, x1, y0, y1 = box
    dx = np.arange(x0, x1, dtype=np.float32) - np.float32(cx)
    dy = (np.arange(y0, y1, dtype=np.float32) - np.float32(cy))[:, None]
    distance = np.abs(np.sqrt(dx * dx + dy * dy) - np.float32(radius))  # (h, w)
    coverage = np.clip(np.float32(0.5 * thickness + 0.5) - distance, 0.0, 1.0)
    _blend(canvas[y0:y1, x0:x1], coverage, color)


# A 5x7 bitmap font (capitals, digits, common punctuation); lower case draws as capitals.
_GLYPHS = {
    " ": "..... ..... ..... ..... ..... ..... .....",
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    "-": "..... ..... ..... .###. ..... ..... .....",
    "_": "..... ..... ..... ..... ..... ..... #####",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "/": "....# ....# ...#. ..#.. .#... #.... #....",
    "'": "..#.. ..#.. .#... ..... ..... ..... .....",
    "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
    "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
    "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "=": "..... ..... ##### ..... ##### ..... .....",
    "%": "##..# ##..# ...#. ..#.. .#... #..## #..##",
    "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
}
GLYPH_WIDTH, GLYPH_HEIGHT = 5, 7
_MASKS = {
    char: np.array([[cell == "#" for cell in row] for row in rows.split()], dtype=np.float32)
    for char, rows in _GLYPHS.items()
}


def text_size(text: str, scale: int) -> tuple[int, int]:
    """Width and height in px of ``text`` drawn at integer ``scale`` (one glyph gap of 1)."""
    if not text:
        return 0, 0
    return (len(text) * (GLYPH_WIDTH + 1) - 1) * scale, GLYPH_HEIGHT * scale


def text_mask(text: str, scale: int) -> np.ndarray:
    """Coverage mask ``(7 * scale, width)`` of ``text``; unknown characters draw as ``?``."""
    gap = np.zeros((GLYPH_HEIGHT, 1), dtype=np.float32)
    pieces = []
    for char in text.upper():
        if pieces:
            pieces.append(gap)
        pieces.append(_MASKS.get(char, _MASKS["?"]))
    mask = np.concatenate(pieces, axis=1) if pieces else np.zeros((GLYPH_HEIGHT, 0), np.float32)
    return np.kron(mask, np.ones((scale, scale), dtype=np.float32))


def draw_text(canvas: np.ndarray, text: str, left: int, top: int, scale: int, color: Color) -> None:
    """Bitmap ``text`` with its top-left corner at pixel ``(left, top)``, clipped."""
    mask = text_mask(text, scale)
    height, width = canvas.shape[:2]
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + mask.shape[1], width), min(top + mask.shape[0], height)
    if x0 >= x1 or y0 >= y1:
        return
    _blend(canvas[y0:y1, x0:x1], mask[y0 - top : y1 - top, x0 - left : x1 - left], color)


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write a uint8 RGB image ``(h, w, 3)`` as an 8-bit RGB PNG (zlib, no filtering)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image (h, w, 3), got {image.shape}")
    height, width = image.shape[:2]

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, -1)], axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )
    return path
