"""Tests of the inference runtime, hooks and models."""
