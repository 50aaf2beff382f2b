"""The platform answers as a newcomer would first use it."""


async def test_health_and_openapi(client) -> None:
    r = await client.get("/api/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    spec = (await client.get("/schema/openapi.json")).json()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            assert op.get("operationId"), f"{method} {path} has no operationId"
            assert op.get("summary"), f"{method} {path} has no summary"


async def test_demo_city_is_scoped(api) -> None:
    city = (await api("city_admin").get("/api/households?page_size=1")).json()
    weibin = (await api("weibin_auditor").get("/api/households?page_size=200")).json()
    assert 0 < weibin["total"] < city["total"]
    assert {h["county_name"] for h in weibin["items"]} == {"渭滨区"}
