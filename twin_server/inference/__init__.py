"""Inference: predictions attached to twins (the hooks and runtime come with issue 7)."""
