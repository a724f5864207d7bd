"""The semantic layer: ontologies, DTDL models as RDF, and the structure of the twin graph
(types, relationships, static properties) mirrored from change events, queried with SPARQL."""
