"""Perturbation methods: scores of the model on altered copies of the image."""
