"""Inference tests use the GraphQL client fixture too."""

from tests.api.graphql.conftest import gql

__all__ = ["gql"]
