"""The live server: a WebSocket API and the viewer page (``llavataros serve``)."""
