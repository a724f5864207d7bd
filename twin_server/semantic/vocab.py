"""Namespaces of the semantic graph."""

from __future__ import annotations

from rdflib import Namespace

DTDL = Namespace("dtmi:dtdl:class:")
DTDLP = Namespace("dtmi:dtdl:property:")
SOSA = Namespace("http://www.w3.org/ns/sosa/")
SSN = Namespace("http://www.w3.org/ns/ssn/")
SAREF = Namespace("https://saref.etsi.org/core/")

PREFIXES = {"dtdl": DTDL, "dtdlp": DTDLP, "sosa": SOSA, "ssn": SSN, "saref": SAREF}
