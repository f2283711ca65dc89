"""The service's FastAPI application: its routes, the ops routes, problem+json answers,
the request context, the OpenAPI's error answers, tracing."""

from __future__ import annotations

from fastapi import FastAPI

from sangsaeng_common import tracing
from sangsaeng_common.http import Authenticator, install_problem_handlers
from sangsaeng_common.openapi import document_problems
from sangsaeng_common.ops_routes import dead_letter_router, ops_router
from sangsaeng_common.request_context import install_request_context
from sangsaeng_common.runtime import Runtime, ServiceDefinition


def build_app(definition: ServiceDefinition, runtime: Runtime) -> FastAPI:
    app = FastAPI(title=definition.title, description=definition.description, version="1.0.0")
    app.state.service_name = definition.name
    app.state.runtime = runtime
    app.state.authenticator = Authenticator.from_settings(runtime.settings)
    install_problem_handlers(app)
    install_request_context(app)
    # The dead-letter routes are a router of their own in this list, not one included in the
    # ops router: the OpenAPI's roles (x-roles) are read from each listed router's own routes.
    ops = [ops_router(definition, runtime)] + ([dead_letter_router(definition, runtime)] if definition.consumers else [])
    routers = [*ops, *definition.routes(runtime)]
    document_problems(app, [route for router in routers for route in router.routes])
    for router in routers:
        app.include_router(router)
    tracing.instrument_app(app)
    return app
