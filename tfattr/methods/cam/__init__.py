"""Class activation maps: weighted feature maps of a convolutional (or token) layer."""
