"""The regulators' dashboard in a real Chromium: the anomaly queue, resolving one with a note,
the region's charts and a container's chain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from service.anomalies.models import Anomaly
from service.auth.roles import Role
from service.custody.models import Container
from service.db import session_scope
from service.organizations.models import OrgKind
from tests.factories import PASSWORD, make_org, make_site, make_user
from tests.web.conftest import LiveServer, save_screenshot


def seed_region(live: LiveServer) -> tuple[str, str, uuid.UUID, str]:
    """A small region (two hospitals, a transporter, a plant, a regulator) with containers at
    several stages, made through the API, plus one critical anomaly row; returns the
    regulator's username and password, the anomaly id and its container id."""
    now = datetime.now(UTC)
    with session_scope(live.engine, write=True) as session:
        hohhot = make_org(
            session, OrgKind.hospital, name="呼和浩特市第一医院 Hohhot First Hospital"
        )
        baotou = make_org(session, OrgKind.hospital, name="包头市中心医院 Baotou Central Hospital")
        fleet = make_org(session, OrgKind.transporter, name="绿源运输 Green Source Transport")
        plant = make_org(session, OrgKind.disposal, name="呼和浩特处置中心 Hohhot Disposal Centre")
        bureau = make_org(session, OrgKind.regulator, name="生态环境厅 Ecology Department")
        sites = {
            "hohhot": make_site(session, hohhot, latitude=40.8186, longitude=111.6708),
            "baotou": make_site(session, baotou, latitude=40.6562, longitude=109.8403),
            "fleet": make_site(session, fleet, latitude=40.8420, longitude=111.7513),
            "plant": make_site(session, plant, latitude=40.7470, longitude=111.5530),
        }
        users = {
            "hohhot": make_user(session, Role.hospital_staff, hohhot).username,
            "baotou": make_user(session, Role.hospital_staff, baotou).username,
            "driver": make_user(session, Role.driver, fleet).username,
            "plant": make_user(session, Role.disposal_operator, plant).username,
            "regulator": make_user(session, Role.regulator, bureau).username,
        }
        plant_id, hohhot_id = str(plant.id), str(hohhot.id)
        site = {k: (str(v.id), v.latitude, v.longitude) for k, v in sites.items()}

    def as_(who: str) -> Any:
        return live.client(users[who], PASSWORD)

    def scan(who: str, c: dict[str, Any], action: str, hours_ago: float, **extra: Any) -> None:
        at = (now - timedelta(hours=hours_ago)).isoformat()
        with as_(who) as api:
            body = {"qr_payload": c["qr_payload"], "action": action, "scanned_at": at}
            r = api.post(
                "/api/v1/scans", json={**body, "client_event_id": str(uuid.uuid4()), **extra}
            )
            assert r.status_code == 201, r.text

    def register(who: str, n: int, category: str) -> list[dict[str, Any]]:
        with as_(who) as api:
            r = api.post(
                "/api/v1/containers",
                json={
                    "count": n,
                    "category": category,
                    "site_id": site[who][0],
                    "department": "内科 Internal medicine",
                },
            )
            assert r.status_code == 201, r.text
            made = list(r.json()["containers"])
        # The story runs over the last days: date the labels before their first scan (a scan
        # dated before its container's registration is refused).
        with session_scope(live.engine, write=True) as session:
            for c in made:
                row = session.get(Container, c["id"])
                assert row is not None
                row.created_at = now - timedelta(hours=100)
                session.add(row)
        return made

    def at(key: str) -> dict[str, Any]:
        return {"latitude": site[key][1], "longitude": site[key][2]}

    done = register("hohhot", 4, "infectious")
    for i, c in enumerate(done):
        scan(
            "hohhot",
            c,
            "collect",
            80 - i,
            weight_kg=3.5 + i,
            site_id=site["hohhot"][0],
            **at("hohhot"),
        )
    with as_("driver") as api:
        trip = api.post(
            "/api/v1/manifests",
            json={
                "origin_organization_id": hohhot_id,
                "destination_organization_id": plant_id,
                "vehicle_plate": "蒙A·D1234",
            },
        ).json()
    for c in done:
        scan("driver", c, "pickup", 60, manifest_id=trip["id"], **at("hohhot"))
    for who, party, name in (("hohhot", "origin", "王丽"), ("driver", "transporter", "张伟")):
        with as_(who) as api:
            api.post(
                f"/api/v1/manifests/{trip['id']}/sign", json={"party": party, "printed_name": name}
            )
    for i, c in enumerate(done):
        scan(
            "plant",
            c,
            "receive",
            56,
            weight_kg=3.5 + i - (0.9 if i == 2 else 0),
            site_id=site["plant"][0],
            **at("plant"),
        )
        scan(
            "plant",
            c,
            "dispose",
            30 - 6 * i,
            method="incineration",
            site_id=site["plant"][0],
            **at("plant"),
        )
    waiting = register("baotou", 3, "sharps")
    for i, c in enumerate(waiting):
        scan(
            "baotou",
            c,
            "collect",
            70 - 20 * i,
            weight_kg=1.2,
            site_id=site["baotou"][0],
            **at("baotou"),
        )
        scan("baotou", c, "store", 69 - 20 * i, site_id=site["baotou"][0])

    with session_scope(live.engine, write=True) as session:
        anomaly = Anomaly(
            kind="scan_after_disposal",
            severity="critical",
            container_id=waiting[0]["id"],
            organization_id=uuid.UUID(str(waiting[0]["origin_organization_id"])),
            jurisdiction="CN-15",
            rule="any scan of a disposed container",
            threshold="always",
            facts={"scanned_by": "unknown device", "site": "roadside, 3 km from any licensed site"},
            dedupe_key=f"web-test:{uuid.uuid4()}",
        )
        session.add(anomaly)
        session.flush()
        return users["regulator"], PASSWORD, anomaly.id, waiting[0]["id"]


def test_a_regulator_resolves_an_anomaly_and_reads_the_charts(
    browser: Any, live_server: LiveServer
) -> None:
    username, password, anomaly_id, container_id = seed_region(live_server)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}, locale="en-GB"
    )
    context.set_default_timeout(20000)
    page = context.new_page()
    page.goto("/dashboard/")
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#login-form input[name=username]", username)
    page.fill("#login-form input[name=password]", password)
    page.click("#login-form button[type=submit]")

    row = page.locator(f"#anomaly-table tr[data-id='{anomaly_id}']")
    row.wait_for()
    # Most severe first: the critical anomaly heads the queue.
    assert page.locator("#anomaly-table tbody tr").first.get_attribute("data-severity") == (
        "critical"
    )
    assert int(page.locator("[data-testid=count-critical] b").inner_text()) >= 1
    save_screenshot(page, "dashboard-queue.png")

    row.locator("button[data-step=resolve]").click()
    page.fill("#step-note", "Label reuse confirmed with the hospital; bag re-labelled.")
    page.click("#step-ok")
    row.wait_for(state="detached")  # the queue shows open anomalies by default

    with live_server.client(username, password) as api:
        body = api.get(f"/api/v1/anomalies/{anomaly_id}").json()
    assert body["status"] == "resolved"
    assert body["steps"][-1]["note"] == "Label reuse confirmed with the hospital; bag re-labelled."

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/" in r.url else None)
    page.goto("/dashboard/#region")
    page.wait_for_selector("#map svg")
    page.wait_for_selector("#chart-weights svg")
    page.wait_for_selector("#org-table tbody tr")
    assert page.locator("#map circle").count() >= 3
    # Drawn from the server's figures: no chain is loaded to draw a chart, a handful of requests.
    assert any("/api/v1/reports/region" in url for url in requests), requests
    assert not any("/events" in url for url in requests), requests
    assert len(requests) <= 10, requests
    with live_server.client(username, password) as api:
        figures = api.get("/api/v1/reports/region").json()
    table = page.locator("#org-table tbody tr")
    assert table.count() == len(figures["organizations"])
    first = figures["organizations"][0]
    assert table.first.locator("td").nth(0).inner_text() == first["name"]
    assert table.first.locator("td").nth(3).inner_text() == str(first["containers"])
    save_screenshot(page, "dashboard-charts.png", full_page=True)

    page.goto(f"/dashboard/#chain?id={container_id}")
    page.wait_for_selector("[data-testid=verified]")
    assert "verified" in page.locator("[data-testid=verified]").inner_text().lower()
    assert page.locator(".timeline li").count() >= 3
    save_screenshot(page, "dashboard-chain.png")
    context.close()
