"""Fixtures of the web UI tests: a service whose webhooks may reach a receiver on
127.0.0.1 and whose worker polls quickly, a browser, and the screenshot folder."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.automations.receiver import Receiver
from tests.conftest import Server, start_server, stop_server
from tests.web.browser import chromium

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
UI_ENV = {
    "STRATA_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "STRATA_DELIVERY_POLL_SECONDS": "0.2",
    "STRATA_DELIVERY_RETRY_SCHEDULE": "0,0.3,0.3",
    "STRATA_SECRET_KEY": "web-ui-tests-secret-key-0123456789",
}


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("ui") / "home", UI_ENV)
    yield srv
    stop_server(srv)


@pytest.fixture
def server(ui_server: Server) -> Server:
    """The SDK (tests/conftest.py `client_env`) talks to the UI tests' service."""
    return ui_server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
