"""Twin Server: a semantic twin graph behind standard APIs (NGSI-LD, GraphQL, DTDL models)."""

__version__ = "0.1.0"
