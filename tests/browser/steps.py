"""What a member does in the browser, shared by the browser tests: sign in, open the widget, send a message."""

from __future__ import annotations

from typing import Any

from accounts.management.commands.seed_demo import DEMO_PASSWORD


def submit_sign_in(page: Any, site: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Fill the sign-in form and submit it; waits for nothing after (the caller checks what follows)."""
    # No waiting for "load" (the Messenger script and its stylesheet): the member acts as soon as she can.
    page.goto(f"{site}/accounts/login/", wait_until="domcontentloaded")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form.stacked button[type=submit]")


def sign_in(page: Any, site: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in and wait until the home page starts loading."""
    submit_sign_in(page, site, username, password)
    page.wait_for_url(f"{site}/", wait_until="commit")


MESSENGER_FRAME = "#genesys-mxg-frame"


def messenger(page: Any) -> Any:
    """Messenger's UI: inside its iframe, served from Genesys' origin (the sandbox's), as a FrameLocator."""
    return page.frame_locator(MESSENGER_FRAME)


def messenger_frame(page: Any) -> Any:
    """Messenger's iframe as a Frame (to evaluate in Genesys' origin: its localStorage, its focus); waits for it."""
    handle = page.wait_for_selector(MESSENGER_FRAME, state="attached")
    frame = handle.content_frame()
    frame.wait_for_load_state("domcontentloaded")
    return frame


def page_messenger_keys(page: Any) -> list[str]:
    """Keys of the page's own localStorage that look like Messenger's (there must be none: they live in the frame)."""
    return page.evaluate(
        "() => Object.keys(localStorage).filter((k) => /gcmc|gcatkn|gcartkn|_actmu|^_[0-9a-f-]{36}:/.test(k))"
    )


def open_widget(page: Any) -> None:
    # The stand-in builds launcher and panel together and reopens the panel if it was open on the last page:
    # look at the panel only once the launcher is there, or the click would close it.
    widget = messenger(page)
    widget.locator("#genesys-launcher").wait_for()
    if not widget.locator("#genesys-messenger").is_visible():
        widget.locator("#genesys-launcher").click()
    widget.locator("#genesys-input").wait_for(state="visible")


def send(page: Any, text: str) -> None:
    """Open the widget and send at once: no wait for anything but the controls being there."""
    open_widget(page)
    messenger(page).locator("#genesys-input").fill(text)
    messenger(page).locator("#genesys-send").click()
