"""The models API: upload, list, get, decommission and delete DTDL models, in the shape of
Azure Digital Twins' ``/models`` API so modelers' tools and scripts carry over."""
