"""Video rendering of motion with the speech audio muxed in."""

from llavataros.render.raster import save_png
from llavataros.render.video import (
    RenderStyle,
    render_frame,
    render_frames,
    render_video,
)

__all__ = ["RenderStyle", "render_frame", "render_frames", "render_video", "save_png"]
