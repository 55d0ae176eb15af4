"""What check_install.py does as a member and as Genesys: sign in over HTTP, read the page's Messenger data, play
the guest on the sandbox's web messaging socket (`/v1`), and wait until the sandbox shows the conversation's
customer verified by the site's push."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets
from typing import Any

import requests
import simple_websocket
from host_processes import Failed, Running, as_json, http, wait_until

MESSENGER_DATA = re.compile(r'<script id="genesys-messenger-data" type="application/json">(.*?)</script>', re.S)
EXCHANGE_PATH = "/api/v2/webdeployments/token/oauthcodegrantjwtexchange"
VERIFIED = {"value": "true", "origin": "server"}  # what the site's push (a server origin) leaves on the customer


def signed_in_page(site: Running, username: str, password: str) -> tuple[requests.Session, requests.Response, dict]:
    """Sign in through the admin's login form (next=/), then the page with the widget and its Messenger data."""
    session = http()
    login = f"{site.url}/admin/login/?next=/"
    session.get(login, timeout=10).raise_for_status()
    form = {"username": username, "password": password, "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")}
    page = session.post(login, data={**form, "next": "/"}, headers={"Referer": login}, timeout=20)
    if page.status_code != 200 or page.url.rstrip("/") != site.url or "sessionid" not in session.cookies:
        raise Failed(f"sign-in did not land on the page: HTTP {page.status_code} at {page.url}")
    found = MESSENGER_DATA.search(page.text)
    if not found:
        raise Failed("the signed-in page has no genesys-messenger-data (is {% genesys_messenger %} rendered?)")
    return session, page, json.loads(found.group(1))


class Guest:
    """A visitor on the sandbox's socket, frame by frame, as Messenger talks to Genesys."""

    def __init__(self, sandbox_url: str, deployment_id: str) -> None:
        self.token = secrets.token_hex(12)
        self.deployment_id = deployment_id
        socket_url = sandbox_url.replace("http://", "ws://", 1)
        self.ws = simple_websocket.Client.connect(f"{socket_url}/v1?deploymentId={deployment_id}")

    def ask(self, action: str, **fields: Any) -> dict[str, Any]:
        """Send one frame; answers the next response frame (one with a code)."""
        self.ws.send(json.dumps({"action": action, "token": self.token, **fields}))
        while True:
            raw = self.ws.receive(15)
            if raw is None:
                raise Failed(f"the sandbox's socket answered nothing to {action} within 15 s")
            frame = json.loads(raw)
            if "code" in frame:
                return frame

    def send(self, text: str, attributes: dict[str, str]) -> dict[str, Any]:
        body = {"type": "Text", "text": text, "channel": {"metadata": {"customAttributes": attributes}}}
        frame = self.ask("onMessage", message=body)
        if frame.get("code") != 200:
            raise Failed(f"the sandbox refused the guest's message: {frame}")
        return frame

    def close(self) -> None:
        with contextlib.suppress(simple_websocket.ConnectionClosed):
            self.ws.close()


def member_token_verify(sandbox: Running, data: dict[str, Any]) -> dict[str, Any]:
    """Member-token mode: the page's attributes carry a memberToken; sent with the first message, the flow's data
    action reaches the site, whose push marks the customer verified and blanks the token."""
    attributes = data.get("attributes") or {}
    if not attributes.get("memberToken") or data.get("auth"):
        raise Failed(f"member-token mode: the page should carry a memberToken and no auth: {data}")
    guest = Guest(sandbox.url, data["deploymentId"])
    try:
        guest.ask("configureSession", deploymentId=data["deploymentId"])
        guest.send("Hello from a new project", attributes)
    finally:
        guest.close()
    customer = verified_customer(sandbox)
    token = customer["attributes"].get("memberToken", {}).get("value", "")
    if token:
        raise Failed("member-token mode: the push left the member token on the participant")
    return {"memberId": attributes.get("memberId"), "verified": customer["attributes"]["verified"]}


def authenticated_verify(
    site: Running, sandbox: Running, session: requests.Session, data: dict[str, Any]
) -> dict[str, Any]:
    """Authenticated messaging: the page's auth-code URL gives a code for a PKCE challenge; the sandbox exchanges it
    with the site's provider for a JWT (as Genesys does); a session opened with it sends a message and the site
    verifies the customer by `sub`, with no memberToken anywhere."""
    auth, attributes = data.get("auth") or {}, data.get("attributes") or {}
    if not auth.get("codeUrl") or "memberToken" in attributes:
        raise Failed(f"authenticated mode: the page should carry auth and no memberToken: {data}")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = as_json(
        session.post(
            f"{site.url}{auth['codeUrl']}",
            json={"codeChallenge": challenge, "nonce": secrets.token_urlsafe(16)},
            headers={"X-CSRFToken": auth["csrfToken"]},
            timeout=20,
        ),
        "the page's auth-code URL",
    )
    oauth = {k: code[k] for k in ("redirectUri", "nonce")} | {"code": code["authCode"], "codeVerifier": verifier}
    with http() as genesys:
        grant = as_json(
            genesys.post(
                f"{sandbox.url}{EXCHANGE_PATH}", json={"deploymentId": data["deploymentId"], "oauth": oauth}, timeout=30
            ),
            "the sandbox's code exchange with the site's provider",
        )
    guest = Guest(sandbox.url, data["deploymentId"])
    try:
        opened = guest.ask(
            "configureAuthenticatedSession", deploymentId=data["deploymentId"], data={"code": grant["jwt"]}
        )
        if opened.get("code") != 200:
            raise Failed(f"the sandbox refused the authenticated session: {opened}")
        guest.send("Hello as a signed-in member", attributes)
    finally:
        guest.close()
    customer = verified_customer(sandbox)
    if not customer.get("authenticated") or customer["attributes"].get("memberToken", {}).get("value"):
        raise Failed(f"authenticated mode: the customer is not authenticated, or has a memberToken: {customer}")
    return {"sub": (customer.get("authClaims") or {}).get("sub"), "verified": customer["attributes"]["verified"]}


def verified_customer(sandbox: Running) -> dict[str, Any]:
    """The sandbox's conversation once the site's push verified its customer (bounded wait): its customer's
    `attributes` ({name: {value, origin}}), `authenticated` and `authClaims`."""

    def probe() -> dict[str, Any] | None:
        with http() as hooks:
            conversations = as_json(hooks.get(f"{sandbox.url}/_conversations", timeout=10), "GET /_conversations")
        verified = [c for c in conversations["conversations"] if c["attributes"].get("verified") == VERIFIED]
        return verified[0] if verified else None

    try:
        return wait_until(probe, 30, "the sandbox shows the customer verified by the site's push", interval=0.2)
    except Failed as failure:
        with http() as hooks:
            seen = hooks.get(f"{sandbox.url}/_conversations", timeout=10).text
        raise Failed(f"{failure}; the sandbox's conversations: {seen[:3000]}") from None
