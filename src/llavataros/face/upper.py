"""Synthetic upper face for takes without a captured one (the synthetic English corpus):
blinks at a natural rate and brow raises on pitch accents, as a pure function of the take's
length, accent times and a seed.

- Blinks: intervals drawn from a gamma distribution (shape 3) with mean ``60 / rate`` s
  (people blink about 15-20 times a minute in conversation, more while speaking), at least
  1 s apart; each blink closes in 100 ms and reopens in 200 ms (``eyeBlinkLeft/Right``,
  peak 1.0, with a small squint).
- Brow raises: at each accent time ``browInnerUp`` and ``browOuterUpLeft/Right`` rise to an
  amplitude in [0.25, 0.5] over 150 ms and fall over 400 ms.

Returns ``(T, 52)`` float32 with only eye and brow channels set; add it to a mouth take with
:func:`combine` (channel-wise maximum).
"""

from __future__ import annotations

import numpy as np

from llavataros.face.arkit import NUM_BLENDSHAPES, index

BLINK = (index("eyeBlinkLeft"), index("eyeBlinkRight"))
SQUINT = (index("eyeSquintLeft"), index("eyeSquintRight"))
BROWS = (index("browInnerUp"), index("browOuterUpLeft"), index("browOuterUpRight"))


def _pulse(times: np.ndarray, onset: float, rise: float, fall: float) -> np.ndarray:
    """0 -> 1 linearly over ``rise`` s from ``onset``, then back to 0 over ``fall`` s."""
    up = np.clip((times - onset) / rise, 0.0, 1.0)
    down = np.clip(1.0 - (times - onset - rise) / fall, 0.0, 1.0)
    return np.where(times < onset + rise, up, down)


def upper_face(
    num_frames: int,
    fps: float,
    accent_times: tuple[float, ...] | list[float] = (),
    seed: int | list[int] = 0,
    blinks_per_minute: float = 17.0,
) -> np.ndarray:
    """``(num_frames, 52)`` blinks and brow raises (see the module docstring). Blinks and brow
    amplitudes draw from separate generators, so the first frames do not depend on
    ``num_frames`` (a stream computes the same frames as the whole take)."""
    seeds = list(np.atleast_1d(seed))
    rng = np.random.default_rng([*seeds, 0])
    brow_rng = np.random.default_rng([*seeds, 1])
    times = np.arange(num_frames) / fps
    duration = num_frames / fps
    face = np.zeros((num_frames, NUM_BLENDSHAPES), dtype=np.float64)
    mean_gap = 60.0 / blinks_per_minute
    moment = rng.uniform(0.3, mean_gap)
    while moment < duration:
        blink = _pulse(times, moment, 0.1, 0.2)
        face[:, list(BLINK)] = np.maximum(face[:, list(BLINK)], blink[:, None])
        face[:, list(SQUINT)] = np.maximum(face[:, list(SQUINT)], 0.15 * blink[:, None])
        moment += max(1.0, rng.gamma(3.0, mean_gap / 3.0))
    for accent in accent_times:
        amplitude = brow_rng.uniform(0.25, 0.5)
        raise_ = amplitude * _pulse(times, accent - 0.05, 0.15, 0.4)
        face[:, list(BROWS)] = np.maximum(face[:, list(BROWS)], raise_[:, None])
    return face.astype(np.float32)


def combine(*takes: np.ndarray) -> np.ndarray:
    """Channel-wise maximum of face takes of equal shape."""
    return np.maximum.reduce([np.asarray(take, dtype=np.float32) for take in takes])
