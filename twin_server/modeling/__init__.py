"""DTDL modeling: parse and validate DTDL v2/v3 models into elements the server can use.

``parse_models`` is the entry point; everything it refuses is a ``ModelError`` holding
``ParsingError``s in the vocabulary of the official DTDL parser.
"""
