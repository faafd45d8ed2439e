"""The face model family (``model.json`` family ``"face"``): a JambaTalk-style decoder from
speech features (and optional visemes) to the 52 ARKit blendshapes (arXiv 2408.01627)."""

from llavataros.models.face.config import FaceModelConfig
from llavataros.models.face.network import FaceModel, FaceState
from llavataros.models.face.stream import FaceStream, generate_face

__all__ = ["FaceModel", "FaceModelConfig", "FaceState", "FaceStream", "generate_face"]
