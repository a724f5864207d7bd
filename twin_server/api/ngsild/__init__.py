"""The ETSI NGSI-LD API (GS CIM 009 V1.9.1) under /ngsi-ld/v1, as lean Starlette routes."""
