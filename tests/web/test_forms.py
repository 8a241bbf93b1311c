"""Every form of the pages rejects bad input with a message shown in the page, a form
posted from another site is refused, and no page shows a secret."""

import base64
import re
import secrets
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.automations.receiver import Receiver
from tests.conftest import Server
from tests.web import scenario
from tests.web.conftest import screenshot


@pytest.fixture(scope="module")
def built(ui_server: Server, tmp_path_factory: pytest.TempPathFactory) -> scenario.Scenario:
    """One scenario for the module (its webhook target is never reached here)."""
    receiver = Receiver()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STRATA_URL", ui_server.url)
        patch.setenv("STRATA_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        patch.setattr("sdk.connection._default", None)
        try:
            return scenario.build(
                receiver.url,
                secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
                access_token="token-" + secrets.token_hex(16),
                files=3,
            )
        finally:
            receiver.close()


@pytest.mark.parametrize(
    ("alias", "version", "message"),
    [
        ("bad name!", "v0", "invalid alias name 'bad name!'"),
        ("latest", "v0", "'latest' is maintained automatically"),
        ("v7", "v0", "looks like a version or a digest"),
        ("production", "v99", "resnet:v99 does not exist"),
        ("staging", "v0", "staging already points at v0"),
    ],
)
def test_alias_form_shows_what_is_wrong(
    page: Page, ui_server: Server, built: scenario.Scenario, alias, version, message
):
    page.goto(f"{ui_server.url}/registries/{built.registry}/collections/resnet")
    page.fill("#move-alias input[name=alias]", alias)
    page.fill("#move-alias input[name=version]", version)
    with page.expect_response(re.compile("/aliases$")) as answer:
        page.get_by_role("button", name="Review move…").click()
    assert answer.value.status == 422
    expect(page.locator("#move-alias .alert.error")).to_contain_text(message)
    expect(page.locator("#move-alias input[name=alias]")).to_have_value(alias)
    if alias == "bad name!":
        screenshot(page, "alias-form-error")


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("versions", '{"metadata.acc": ', "the filter is not valid JSON"),
        ("versions", '["tag"]', "a filter is a JSON object"),
        ("versions", '{"colour": "red"}', "colour"),
        ("runs", '{"state": {"$gt": 3}}', "state"),
        ("versions", '{"tag": {"$regex": "("}}', "regex"),
    ],
)
def test_search_shows_filter_errors(page: Page, ui_server: Server, kind, text, message):
    page.goto(f"{ui_server.url}/search")
    page.select_option("#search-form select[name=kind]", kind)
    page.fill("#search-form textarea[name=q]", text)
    page.locator("#search-form").get_by_role("button", name="Search").click()
    expect(page.locator(".alert.error")).to_contain_text(message)
    expect(page.locator("#search-form textarea")).to_have_value(text)
    if kind == "runs":
        screenshot(page, "search-error")


@pytest.mark.parametrize("depth", ["abc", "0", "21", "-1"])
def test_lineage_depth_is_checked(page: Page, ui_server: Server, built, depth):
    page.goto(f"{ui_server.url}/projects/{built.project}/collections/mnist/versions/v0/lineage")
    page.fill("#lineage-form input[name=depth]", depth)
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".alert.error")).to_contain_text("depth must be a whole number from 1")
    expect(page.locator("svg#lineage")).to_have_count(0)


def test_missing_things_and_bad_parameters_show_an_error_page(page: Page, ui_server, built):
    for path, message in [
        ("/projects/no-such-project", "project 'no-such-project' does not exist"),
        (f"/projects/{built.project}/collections/mnist/versions/v9", "mnist:v9 does not exist"),
        (f"/projects/{built.project}/collections/mnist/versions/v0?offset=x", "offset"),
        (f"/projects/{built.project}?cursor=garbage", "cursor"),
        ("/automations/nope", "automation 'nope' does not exist"),
    ]:
        response = page.goto(ui_server.url + path)
        assert response is not None and 400 <= response.status < 500, path
        expect(page.locator(".alert.error")).to_contain_text(message)


def test_forms_posted_from_another_site_are_refused(ui_server: Server, built):
    url = f"{ui_server.url}/registries/{built.registry}/collections/resnet/aliases/confirm"
    form = {"alias": "production", "version": "v2"}
    with httpx.Client() as client:
        for headers in ({"sec-fetch-site": "cross-site"}, {"origin": "https://evil.example"}):
            response = client.post(url, data=form, headers=headers)
            assert response.status_code == 403
            assert "sent from another site" in response.text
        after = client.get(
            f"{ui_server.url}/api/v1/registries/{built.registry}/collections/resnet/versions/v2"
        ).json()
    assert "production" not in after["aliases"]


def test_no_page_shows_a_secret(ui_server: Server, built):
    """Crawl every page reachable from the front page (and the ones with forms)."""
    seen: set[str] = set()
    queue = ["/", "/automations", f"/automations/{built.automation}", "/registries"]
    with httpx.Client(base_url=ui_server.url) as client:
        while queue and len(seen) < 150:
            path = queue.pop()
            if path in seen:
                continue
            seen.add(path)
            response = client.get(path)
            assert response.status_code == 200, path
            assert built.secret not in response.text, path
            assert built.secret.removeprefix("whsec_") not in response.text, path
            assert built.access_token not in response.text, path
            queue += [link for link in _links(response.text, path) if link not in seen]
    assert f"/automations/{built.automation}" in seen
    assert any("/versions/" in path for path in seen)


def _links(html: str, base: str) -> list[str]:
    class Links(HTMLParser):
        found: list[str] = []

        def handle_starttag(self, tag, attrs):
            href = dict(attrs).get("href")
            if tag == "a" and href and not href.startswith(("javascript:", "#")):
                self.found.append(href)

    parser = Links()
    parser.found = []
    parser.feed(html)
    local = []
    for href in parser.found:
        parts = urlsplit(urljoin(base, href))
        if not parts.netloc and not parts.path.startswith(("/static", "/docs", "/api")):
            local.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return local
