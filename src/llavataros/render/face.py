"""A simple drawn face on the stick figure's head, driven by ARKit weights (issue 12).

In units of the head radius ``r`` around the head centre (x right, y down on screen):

- eyes at ``(±0.38 r, -0.12 r)``: horizontal capsules ``0.10 r`` long whose radius
  ``0.11 r * (1 - blink) + 0.6 px`` shrinks to a line as ``eyeBlink`` rises;
- brows: lines ``0.36 r`` wide at ``-0.42 r - 0.40 r * raise`` (``raise`` = mean of
  ``browInnerUp`` and ``browOuterUp`` minus mean ``browDown``);
- mouth: centred at ``0.38 r + 0.12 r * jawOpen``, ``0.5 r`` wide (wider with stretch and
  smile, narrower with pucker and funnel), open by ``0.8 r * lip aperture``
  (:func:`llavataros.face.lips.lip_aperture`) plus a ``0.035 r`` closed line.
"""

from __future__ import annotations

import numpy as np

from llavataros.face.arkit import index
from llavataros.face.lips import lip_aperture
from llavataros.render import raster
from llavataros.render.raster import Color

BLINK = [index("eyeBlinkLeft"), index("eyeBlinkRight")]  # the character's left is screen right
BROW_UP = [index("browInnerUp"), index("browOuterUpLeft"), index("browOuterUpRight")]
BROW_DOWN = [index("browDownLeft"), index("browDownRight")]
WIDER = [index(n) for n in ("mouthStretchLeft", "mouthStretchRight", "mouthSmileLeft",
                            "mouthSmileRight")]  # fmt: skip
NARROWER = [index("mouthPucker"), index("mouthFunnel")]
JAW_OPEN = index("jawOpen")


def draw_face(
    canvas: np.ndarray,
    centre: tuple[float, float],
    radius: float,
    weights: np.ndarray,
    color: Color,
    mouth_color: Color = (120, 40, 40),
) -> None:
    """Draw eyes, brows and mouth for one frame of ``weights (52,)`` on a head of ``radius``
    px at ``centre`` (see the module docstring)."""
    w = np.clip(np.asarray(weights, dtype=np.float64), 0.0, 1.0)
    cx, cy = centre
    r = radius
    brow = float(w[BROW_UP].mean() - w[BROW_DOWN].mean())
    for side, blink in ((-1, w[BLINK[1]]), (1, w[BLINK[0]])):  # screen left = character right
        ex, ey = cx + side * 0.38 * r, cy - 0.12 * r
        eye = 0.11 * r * (1.0 - blink) + 0.6
        raster.draw_capsule(canvas, (ex - 0.05 * r, ey), (ex + 0.05 * r, ey), eye, color)
        by = ey - 0.30 * r - 0.40 * r * brow
        raster.draw_capsule(
            canvas, (ex - 0.18 * r, by), (ex + 0.18 * r, by), max(0.6, 0.035 * r), color
        )
    aperture = float(lip_aperture(w[None])[0])
    half_width = 0.25 * r * (1.0 + 0.3 * w[WIDER].mean() - 0.4 * w[NARROWER].mean())
    mouth_y = cy + 0.38 * r + 0.12 * r * w[JAW_OPEN]
    opening = 0.4 * r * min(aperture, 1.0)  # half the height of the open mouth
    thickness = max(0.6, 0.035 * r)
    if opening > thickness:  # an open mouth: a dark capsule as tall as the opening
        inner = max(0.0, half_width - opening)
        raster.draw_capsule(
            canvas, (cx - inner, mouth_y), (cx + inner, mouth_y), opening, mouth_color
        )
    else:
        raster.draw_capsule(
            canvas, (cx - half_width, mouth_y), (cx + half_width, mouth_y), thickness, color
        )
