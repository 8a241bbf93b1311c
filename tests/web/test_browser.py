"""The pages in headless Chromium against the real service: open a version, follow
lineage edges, move a registry alias through its confirmation, watch the webhook
delivery appear in the delivery log, and redeliver it. Screenshots of each page land in
test-output/screenshots/ for review."""

import base64
import re
import secrets
import time

import httpx
from playwright.sync_api import Page, expect

from tests.automations.receiver import Receiver
from tests.conftest import Server
from tests.web import scenario
from tests.web.conftest import screenshot


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def test_browse_promote_and_watch_the_delivery(page: Page, ui_server: Server, receiver: Receiver):
    built = scenario.build(
        receiver.url + "/deploy", secret=new_secret(), access_token=secrets.token_hex(16)
    )
    base = ui_server.url

    # Open a version from the front page, through its project and collection.
    page.goto(base + "/")
    page.get_by_role("link", name=built.project).click()
    page.get_by_role("link", name="mnist", exact=True).click()
    page.locator("#versions").get_by_role("link", name="v0", exact=True).click()
    expect(page.locator("h1")).to_contain_text(f"{built.project}/mnist:v0")
    expect(page.locator("#files tbody tr")).to_have_count(100)  # the first page of 150
    expect(page.locator("#files")).to_contain_text("shards/part-0000.csv")
    expect(page.locator("#snippet-py")).to_contain_text(
        f'sdk.Api().artifact("{built.project}/mnist:v0")'
    )
    expect(page.locator("dd").filter(has_text="best")).to_be_visible()
    screenshot(page, "version")
    page.get_by_role("link", name="Next →").click()
    expect(page.locator("#files tbody tr")).to_have_count(50)
    expect(page.locator("#files")).to_contain_text("shards/part-0149.csv")

    # Follow lineage edges: the dataset -> the run that used it -> the model it logged.
    page.goto(f"{base}/projects/{built.project}/collections/mnist/versions/v0")
    page.locator("#lineage-link").click()
    expect(page.locator("svg#lineage .node")).to_have_count(6)  # v0, 2 runs, 3 models
    expect(page.locator("svg#lineage .edge")).to_have_count(5)
    screenshot(page, "lineage")
    page.locator(f'svg#lineage a[data-node="run:{built.project}/{built.train_run}"]').click()
    expect(page).to_have_url(re.compile(f"/runs/{built.train_run}$"))
    expect(page.locator("figure.chart")).to_have_count(2)  # acc and loss
    expect(page.locator("figure.chart").first).to_contain_text("300 points")
    screenshot(page, "run")
    page.locator("#lineage-link").click()
    page.locator(f'svg#lineage a[data-node="version:{built.project}/resnet:v2"]').click()
    expect(page.locator("h1")).to_contain_text(f"{built.project}/resnet:v2")
    expect(page.locator("#producer")).to_have_text(f"run {built.train_run}")

    # Move the registry's production alias, with a confirmation step.
    page.goto(f"{base}/registries/{built.registry}")
    expect(page.locator("#portfolios")).to_contain_text("staging")
    page.get_by_role("link", name="resnet", exact=True).click()
    page.fill("#move-alias input[name=alias]", "production")
    page.fill("#move-alias input[name=version]", "v1")
    page.get_by_role("button", name="Review move…").click()
    expect(page.locator(".confirm")).to_contain_text("is new and will point")
    expect(page.locator(".confirm")).to_contain_text("protected alias")
    assert receiver.count == 0  # nothing moved before the confirmation
    screenshot(page, "confirm-alias")
    page.locator("#confirm-move").click()
    expect(page.locator(".alert.ok")).to_contain_text("production")
    expect(page.locator("#aliases")).to_contain_text("production")
    row = page.locator("#aliases tr").filter(has_text="production")
    expect(row).to_contain_text("v1")
    screenshot(page, "collection-after-move")

    # The move reached the receiver, and the delivery log shows it.
    [request] = receiver.wait_for(1, timeout=15)
    assert request.json() == {"version": f"@{built.registry}/resnet:v1"}
    page.goto(f"{base}/automations")
    page.get_by_role("link", name=built.automation).click()
    delivery = page.locator("#deliveries tbody tr[data-delivery]")
    _reload_until(page, lambda: delivery.count() == 1 and "delivered" in delivery.inner_text())
    expect(delivery).to_contain_text("alias.added")
    expect(delivery.locator("ol.attempts li")).to_have_count(1)
    expect(delivery.locator("ol.attempts li")).to_contain_text(re.compile(r"200\s+\d+ ms"))
    screenshot(page, "deliveries")

    # Redeliver: a second attempt of the same delivery reaches the receiver.
    delivery.get_by_role("button", name="Redeliver").click()
    expect(page.locator(".alert.ok")).to_contain_text("queued again")
    second = receiver.wait_for(2, timeout=15)[1]
    assert second.headers["webhook-id"] == request.headers["webhook-id"]
    _reload_until(page, lambda: delivery.locator("ol.attempts li").count() == 2)

    # Disable the automation from its page, then enable it from the list.
    page.locator("#toggle").click()
    expect(page.locator("h1 .state")).to_have_text("disabled")
    page.goto(f"{base}/automations")
    row = page.locator("#automation-list tr").filter(has_text=built.automation)
    row.get_by_role("button", name="Enable").click()
    expect(page.locator("h1 .state")).to_have_text("enabled")


def test_registry_history_and_search(page: Page, ui_server: Server, receiver: Receiver):
    built = scenario.build(receiver.url, secret=new_secret(), access_token="t", files=2)
    aliases = f"{ui_server.url}/api/v1/registries/{built.registry}/collections/resnet/aliases"
    with httpx.Client() as client:
        client.put(f"{aliases}/staging", json={"version": "v1"}).raise_for_status()
        client.delete(f"{aliases}/staging").raise_for_status()
    page.goto(f"{ui_server.url}/registries/{built.registry}")
    history = page.locator("#history")
    expect(history).to_contain_text(f"linked {built.project}/resnet:v0 as resnet:v0")
    expect(history.locator("tbody tr")).to_have_count(6)  # three links, three alias changes
    expect(history.locator("tbody tr").nth(0)).to_contain_text("removed staging of resnet from v1")
    expect(history.locator("tbody tr").nth(1)).to_contain_text(
        "moved staging of resnet from v0 to v1"
    )
    expect(history).to_contain_text("set staging of resnet to v0")
    screenshot(page, "registry")

    page.fill("header input[name=q]", '{"metadata.acc": {"$gte": 0.85}}')
    page.get_by_role("button", name="Search").first.click()
    results = page.locator("table.grid tbody tr")
    expect(results.filter(has_text=f"{built.project}/resnet")).to_have_count(2)
    screenshot(page, "search")


def _reload_until(page: Page, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the page never showed what was expected"
        time.sleep(0.2)
        page.reload()
