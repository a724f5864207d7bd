"""The GraphQL API (strawberry): twins, relationships, mutations and live subscriptions."""
