"""The baseline of the intake row: a minimal FastAPI + asyncpg endpoint doing one insert,
served by uvicorn with the settings Sangsaeng's services use.

    python bench/_minimal_app.py --port 8100 --dsn postgresql://…
"""

from __future__ import annotations

import argparse
import uuid
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel


class BusinessIn(BaseModel):
    registration_number: str
    name: str
    dong: str
    industry: str
    employees: int


def build(dsn: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
        await app.state.pool.execute(
            """create table if not exists minimal_businesses (id uuid primary key, registration_number text unique, name text,
                                                              dong text, industry text, employees int)""")
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/businesses", status_code=201)
    async def register(body: BusinessIn) -> dict[str, str]:
        business_id = uuid.uuid4()
        await app.state.pool.execute(
            "insert into minimal_businesses values ($1, $2, $3, $4, $5, $6)",
            business_id, body.registration_number, body.name, body.dong, body.industry, body.employees,
        )
        return {"id": str(business_id)}

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    args = parser.parse_args()
    # The same uvicorn.Config as sangsaeng_common.process.run (loop and HTTP parser: uvicorn's defaults).
    uvicorn.Server(uvicorn.Config(build(args.dsn), host="127.0.0.1", port=args.port, log_config=None, access_log=False)).run()
