"""The rider API served in-process by aiohttp over a real Redis, and every answer checked
against the published OpenAPI document."""

import json
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from jsonschema import Draft202012Validator

from streams.api.openapi import PATH
from streams.api.routes import RiderApi

DOC = json.loads(PATH.read_text(encoding="utf-8"))


def check_against_openapi(template: str, method: str, status: int, body: Any) -> None:
    """The answer is one the document lists for this route, and its body fits its schema."""
    responses = DOC["paths"][template][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {template} answered {status}"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": DOC["components"]}).validate(body)


class Client:
    def __init__(self, session: ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def call(self, method: str, template: str, url: str, token: str | None = None,
                   body: bytes | None = None, *, served: bool = True,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """`served`: the route is expected to exist, so its answer is checked against the
        document; `headers` replace the bearer token's."""
        if headers is None:
            headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        async with self.session.request(method, self.base + url, headers=headers,
                                        data=body) as response:
            text = await response.text()
            payload = json.loads(text) if response.content_type == "application/json" else text
            if served:
                check_against_openapi(template, method, response.status, payload)
            return response.status, payload


@asynccontextmanager
async def served(api: RiderApi):
    app = web.Application()
    api.add_routes(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession() as session:
            yield Client(session, str(server.make_url("")).rstrip("/"))
    finally:
        await server.close()
