"""Pages on a service with STRATA_AUTH=on: signing in with an API key stored in a
secure cookie, roles respected (a read key cannot move aliases or see automations, a
registry member cannot move a protected alias, an admin key can), signing out, and the
REST API refusing the cookie."""

import base64
import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.auth_helpers import AuthServer, start_auth_server
from tests.automations.receiver import Receiver
from tests.web import scenario
from tests.web.conftest import UI_ENV, screenshot


@pytest.fixture(scope="module")
def auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    yield from start_auth_server(tmp_path_factory.mktemp("ui-auth") / "home", UI_ENV)


@pytest.fixture
def server(auth: AuthServer):
    return auth.server


@pytest.fixture(scope="module")
def built(auth: AuthServer, tmp_path_factory: pytest.TempPathFactory) -> scenario.Scenario:
    receiver = Receiver()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STRATA_URL", auth.server.url)
        patch.setenv("STRATA_API_KEY", auth.admin_secret)
        patch.setenv("STRATA_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        patch.setattr("sdk.connection._default", None)
        try:
            return scenario.build(
                receiver.url,
                secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
                access_token="token-" + secrets.token_hex(16),
                files=2,
            )
        finally:
            receiver.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    yield context.new_page()
    context.close()


def sign_in(page: Page, base: str, secret: str, path: str = "/") -> None:
    page.goto(base + path)
    expect(page).to_have_url(f"{base}/login?next={path.replace('/', '%2F')}")
    page.fill("#login-form input[name=key]", secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + path)


def test_signing_in_stores_the_key_in_a_secure_cookie(page: Page, auth: AuthServer, built):
    base = auth.server.url
    page.goto(base + "/")
    expect(page).to_have_url(f"{base}/login?next=%2F")
    page.fill("#login-form input[name=key]", "strata_000000000000_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-form .alert.error")).to_contain_text("That key is not valid")
    screenshot(page, "sign-in-error")

    name, secret = auth.make_key("read")
    sign_in(page, base, secret, f"/projects/{built.project}")
    expect(page.locator("header .account")).to_contain_text(f"{name} · read")
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["value"]) == ("strata_key", secret)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["secure"]  # served over plain http on loopback
    assert secret not in page.content()

    # The cookie opens pages only: the REST API wants the key in its header.
    with httpx.Client(base_url=base, cookies={"strata_key": secret}) as client:
        assert client.get("/api/v1/projects").status_code == 401
        assert client.get("/").status_code == 200

    page.locator("#sign-out").click()
    expect(page).to_have_url(base + "/login")
    assert page.context.cookies() == []
    page.goto(base + "/registries")
    expect(page).to_have_url(f"{base}/login?next=%2Fregistries")


def test_roles_decide_who_moves_an_alias(page: Page, auth: AuthServer, built):
    base = auth.server.url
    collection = f"/registries/{built.registry}/collections/resnet"

    reader = auth.make_key("read")[1]
    sign_in(page, base, reader, collection)
    _review(page, "staging", "v2")
    expect(page.locator(".alert.error")).to_contain_text("needs a key of role write")
    page.goto(base + "/automations")
    expect(page.locator(".alert.error")).to_contain_text("needs a key of role admin")
    page.goto(base + "/")
    expect(page.locator("main")).not_to_contain_text("automation")
    page.context.clear_cookies()

    member_name, member = auth.make_key("write")
    with auth.admin as api:
        url = f"/registries/{built.registry}/members/{member_name}"
        assert api.put(url, json={"role": "member"}).status_code == 200
    sign_in(page, base, member, collection)
    _review(page, "production", "v1")
    expect(page.locator("#move-alias .alert.error")).to_contain_text(
        "alias 'production' is protected"
    )
    screenshot(page, "protected-alias-refused")
    _review(page, "staging", "v2")
    page.locator("#confirm-move").click()
    expect(page.locator("#aliases tr").filter(has_text="staging")).to_contain_text("v2")
    page.context.clear_cookies()

    sign_in(page, base, auth.admin_secret, collection)
    _review(page, "production", "v1")
    page.locator("#confirm-move").click()
    expect(page.locator("#aliases tr").filter(has_text="production")).to_contain_text("v1")
    page.goto(f"{base}/registries/{built.registry}")
    newest = page.locator("#history tbody tr").first
    expect(newest).to_contain_text("set production of resnet to v1")
    expect(newest).to_contain_text("root")  # the key that moved it


def _review(page: Page, alias: str, version: str) -> None:
    page.fill("#move-alias input[name=alias]", alias)
    page.fill("#move-alias input[name=version]", version)
    page.get_by_role("button", name="Review move…").click()
