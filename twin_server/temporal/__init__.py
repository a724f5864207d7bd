"""Entity history: the records of the NGSI-LD temporal API, their aggregation and retention."""
