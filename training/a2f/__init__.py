"""Audio-to-face: data from the shipped voice, training in jax, export to ONNX, report."""
