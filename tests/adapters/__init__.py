"""Tests of the adapter runtime and of the adapters under adapters/."""
