"""API fuzzing (slow, `make test-slow`): schemathesis reads /schema/openapi.json as the app serves it
and, for every operation, generates requests — valid ones and deliberately invalid ones — which are
sent through the ASGI app as each of the six roles. None may answer with a server error, and every
documented response must match its schema.

The requests go through the suite's own ASGI client on the session's event loop (the database pool
belongs to it), driven from schemathesis' synchronous Hypothesis test while that loop is idle.
"""

from __future__ import annotations

import asyncio
import copy
import os
from typing import Any

import httpx
import msgspec
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

# One demo account per role, all in 渭滨区 or serving it, so scoped reads find something.
ROLES = {
    "city_admin": "city_admin",
    "county_auditor": "weibin_auditor",
    "township_officer": "weibin_township",
    "provider_manager": "renhe_manager",
    "field_worker": "weibin_worker",
    "care_home_staff": "kangning_staff",
}
# Examples per operation (each sent as all six roles); derandomized, so CI runs a fixed corpus.
EXAMPLES = int(os.environ.get("CAREPACT_FUZZ_EXAMPLES", "5"))


@pytest.fixture(scope="session")
async def session_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def _document() -> dict[str, Any]:
    from carepact.app import create_app

    # As JSON, the way it is served (bytes examples become base64 text).
    return msgspec.json.decode(msgspec.json.encode(create_app().openapi_schema.to_schema()))


def _operations(document: dict[str, Any]) -> set[str]:
    return {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item}


# Built when the module is collected (no database needed); the test below checks that it holds
# every operation of the document the app serves at /schema/openapi.json.
DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))  # it resolves references in place


@pytest.mark.slow
async def test_the_fuzzed_document_has_every_served_operation(client: httpx.AsyncClient) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    assert _operations(r.json()) == _operations(DOCUMENT) and len(_operations(DOCUMENT)) > 100


def _httpx_arguments(transport: dict[str, Any]) -> dict[str, Any]:
    """schemathesis' requests-style arguments, encoded exactly as requests would send them (JSON,
    forms, multipart, raw bytes), as arguments for httpx."""
    known = ("method", "url", "headers", "params", "json", "data", "files", "cookies")
    prepared = requests.Request(**{k: transport[k] for k in known if transport.get(k) is not None}).prepare()
    return {
        "method": prepared.method,
        "url": prepared.url,
        "headers": dict(prepared.headers),
        "content": prepared.body,
    }


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the database changes between examples
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_as_every_role_answers_within_its_schema(
    case: Any, session_loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    for role, username in ROLES.items():
        transport = case.as_transport_kwargs(
            base_url=str(client.base_url), headers={"Authorization": f"Bearer {tokens[username]}"}
        )
        response = session_loop.run_until_complete(client.request(**_httpx_arguments(transport)))
        try:
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        except BaseException as failure:
            failure.add_note(f"as {username} ({role}): {case.method} {response.request.url} -> {response.status_code}")
            failure.add_note(f"response: {response.text[:500]}")
            raise
