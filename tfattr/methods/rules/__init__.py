"""Rule-based methods: backpropagation with modified rules (DeconvNet, Guided Backprop, DeepLift, LRP)."""
