"""Every page a member or an admin uses, at a phone's 375 x 812 (mobile emulation, touch) and at 1280 x 800: the
page never scrolls sideways, every control is reached with Tab and shows a focus ring, and axe-core (the copy inside
the axe-playwright-python wheel, no download) finds no serious or critical violation. A screenshot of each goes to
SCREENS_DIR (default test-artifacts/screens) for the review.

Messenger is off on these pages (axe would scan Genesys' widget, which is Genesys' business); the last test turns
the sandbox's Messenger on and checks that nothing of ours sits under its launcher on a phone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(os.environ.get("SCREENS_DIR", Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"))
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
SIZES = {"375": PHONE, "1280": DESKTOP}
AXE = Axe()

# Everything the keyboard can reach that is shown; numbered so each Tab stop can be named.
_CONTROLS_JS = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const controls = [...document.querySelectorAll(selector)].filter(
    el => !el.disabled && el.tabIndex >= 0 && shown(el) && !el.closest('[inert]'));
  controls.forEach((el, i) => el.setAttribute('data-a11y-control', String(i)));
  return controls.map(el => el.outerHTML.slice(0, 120));
}"""
_FOCUSED_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
  return {index: el.getAttribute('data-a11y-control'), ring, html: el.outerHTML.slice(0, 120)};
}"""


@pytest.fixture
def site(live_server, seeded, settings) -> str:
    settings.GENESYS_DEPLOYMENT_ID = ""  # our pages only (see the module's docstring)
    settings.LOGIN_RATE_PER_USERNAME = "1000/m"
    return live_server.url


@pytest.fixture(params=list(SIZES), ids=lambda size: f"{size}px")
def sized_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh context of one of the two sizes (the shared `page` fixture is desktop only)."""
    context = browser.new_context(**SIZES[request.param])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.size_name = request.param
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Any, site: str, username: str) -> None:
    page.goto(f"{site}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{site}/")


def sign_in_to_admin(page: Any, site: str) -> None:
    page.goto(f"{site}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{site}/admin/")


def reset_link(site: str) -> str:
    alice = get_user_model().objects.get(username="alice")
    uid = urlsafe_base64_encode(force_bytes(alice.pk))
    return f"{site}/accounts/password/reset/{uid}/{default_token_generator.make_token(alice)}/"


def member_page_in_admin(site: str) -> str:
    alice = get_user_model().objects.get(username="alice")
    return f"{site}/admin/accounts/member/{alice.pk}/change/"


def bulk_confirmation(page: Any, site: str) -> None:
    """The members list, everyone ticked, Platinum chosen, the action run: its confirmation page."""
    page.goto(f"{site}/admin/accounts/member/")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "move_to_level")
    page.select_option("select[name=level]", label="Platinum")
    page.click("button[name=index]")
    page.wait_for_selector("#move-summary")


# name -> (who signs in: None, "alice" or "admin"; how to reach the page from the site's address)
PAGES: dict[str, tuple[str | None, Callable[[Any, str], None]]] = {
    "home-signed-out": (None, lambda page, site: page.goto(f"{site}/")),
    "sign-in": (None, lambda page, site: page.goto(f"{site}/accounts/login/")),
    "home": ("alice", lambda page, site: page.goto(f"{site}/")),
    "my-membership": ("alice", lambda page, site: page.goto(f"{site}/accounts/me/")),
    "password-change": ("alice", lambda page, site: page.goto(f"{site}/accounts/password/change/")),
    "password-reset": (None, lambda page, site: page.goto(f"{site}/accounts/password/reset/")),
    "password-reset-new": (None, lambda page, site: page.goto(reset_link(site))),
    "admin-members": ("admin", lambda page, site: page.goto(f"{site}/admin/accounts/member/")),
    "admin-member": ("admin", lambda page, site: page.goto(member_page_in_admin(site))),
    "admin-bulk-confirmation": ("admin", bulk_confirmation),
}


def open_page(page: Any, site: str, name: str) -> None:
    who, reach = PAGES[name]
    if who == "admin":
        sign_in_to_admin(page, site)
    elif who:
        sign_in(page, site, who)
    reach(page, site)
    page.wait_for_load_state("load")


@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_is_keyboard_reachable_with_a_visible_focus_and_passes_axe(sized_page, site, name):
    page = sized_page
    open_page(page, site, name)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}-{page.size_name}.png"), full_page=True)

    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{name} scrolls sideways: {width[0]} px wide in {width[1]} px"

    controls = page.evaluate(_CONTROLS_JS)
    assert controls, f"{name} has no control at all"
    reached: set[str] = set()
    without_ring: list[str] = []
    for _ in range(len(controls) + 5):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED_JS)
        if focused is None or focused["index"] is None:
            continue
        if focused["index"] in reached:
            break  # round the page once
        reached.add(focused["index"])
        if not focused["ring"]:
            without_ring.append(focused["html"])
    missed = [html for index, html in enumerate(controls) if str(index) not in reached]
    assert not missed, f"{name}: not reached with Tab: {missed}"
    assert not without_ring, f"{name}: focused without a visible ring: {without_ring}"

    results = AXE.run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_report()


def test_nothing_of_ours_sits_under_messenger_on_a_phone(browser, live_server, seeded, sandbox, settings):
    settings.LOGIN_RATE_PER_USERNAME = "1000/m"
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        site = live_server.url
        sign_in(page, site, "alice")
        for path in ["/", "/accounts/login/", "/accounts/me/"]:
            page.goto(f"{site}{path}")
            launcher = messenger_corner(page)
            page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
            corner = launcher.bounding_box()
            ours = page.locator("header a, header button, main a, main button, main input:not([type=hidden])")
            for index in range(ours.count()):
                box = ours.nth(index).bounding_box()
                if box is None:
                    continue
                overlaps = not (
                    box["x"] + box["width"] <= corner["x"]
                    or corner["x"] + corner["width"] <= box["x"]
                    or box["y"] + box["height"] <= corner["y"]
                    or corner["y"] + corner["height"] <= box["y"]
                )
                assert not overlaps, f"{path}: {ours.nth(index).evaluate('e => e.outerHTML')} is under Messenger"
    finally:
        context.close()


def messenger_corner(page: Any) -> Any:
    """Messenger's launcher as the page shows it: its own frame where the stand-in runs in one, else the button."""
    frame = page.locator("#genesys-mxg-frame")
    page.wait_for_function(
        "() => document.querySelector('#genesys-mxg-frame, #genesys-launcher') !== null", timeout=10_000
    )
    return frame if frame.count() else page.locator("#genesys-launcher")
