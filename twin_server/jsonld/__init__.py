"""JSON-LD: the bundled core @context, user @context resolution and cached term maps."""
