"""The face format: ``(T, 52)`` float32 ARKit blendshape weights in [0, 1] at the body's fps.

- :mod:`~llavataros.face.arkit`: the 52 names in Apple's order, channel groups, loss weights;
- :mod:`~llavataros.face.take`: validation and ``NAME.face.npy`` files;
- :mod:`~llavataros.face.livelink`: the Live Link Face app's CSV (Unreal imports it);
- :mod:`~llavataros.face.facegood`: importer of the FACEGOOD capture (116 shapes -> ARKit 52);
- :mod:`~llavataros.face.baselines`: loudness-driven jaw and rule-based visemes.
"""

from llavataros.face.arkit import ARKIT_NAMES, GROUPS, NUM_BLENDSHAPES, channel_weights, index
from llavataros.face.take import check_face, load_face, save_face

__all__ = [
    "ARKIT_NAMES",
    "GROUPS",
    "NUM_BLENDSHAPES",
    "channel_weights",
    "check_face",
    "index",
    "load_face",
    "save_face",
]
