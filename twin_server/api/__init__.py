"""The HTTP edge: NGSI-LD API, health and metrics. Depends on the core, never the reverse."""
