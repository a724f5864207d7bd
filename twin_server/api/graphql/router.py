"""The GraphQL endpoint at /graphql: queries and mutations over HTTP (GraphiQL in a browser),
subscriptions over websocket (graphql-transport-ws, and the older graphql-ws)."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection
from strawberry.fastapi import GraphQLRouter

from twin_server.api.graphql.context import TENANT_HEADER, TwinContext, names_in_use
from twin_server.api.graphql.schema import build_schema
from twin_server.config import Settings


def graphql_router(settings: Settings) -> GraphQLRouter[Any, None]:
    async def context(request: HTTPConnection = None) -> TwinContext:  # type: ignore[assignment]
        services = request.app.state.services
        tenant = request.headers.get(TENANT_HEADER, "")
        hub = request.app.state.graphql_hub
        return TwinContext(services, hub, tenant, await names_in_use(services))

    return GraphQLRouter(
        build_schema(settings),
        path="/graphql",
        context_getter=context,
        graphql_ide="graphiql",
    )
