"""Simulated devices: the pump station the demo runs and the anomaly model is trained on."""
