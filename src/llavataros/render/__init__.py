"""Video rendering of motion with the speech audio muxed in."""
