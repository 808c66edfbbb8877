"""tf-explain's helpers (grids, overlays, grayscale maps, saving), without OpenCV."""
