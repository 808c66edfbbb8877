"""Gradient methods: gradients of the target score, along paths or under noise."""
