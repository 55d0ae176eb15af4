"""Run inside the host site (DJANGO_SETTINGS_MODULE=tests.hostsite.settings, a sandbox at GENESYS_API_BASE with its
flow off): migrate, make a plain User, render the page with `{% genesys_messenger %}` for her, start a conversation
on the sandbox carrying the page's memberToken, and call the data action endpoint as Genesys would. Prints one
JSON object of what happened (tests/messaging/integration/test_host_site.py checks it).

With GENESYS_AUTHENTICATED_MESSAGING=true the page asks the site's provider for a code instead (no member token):
the scenario registers the Genesys client (genesys_oidc_client), asks the page's auth-code endpoint for a code
with a PKCE challenge, and exchanges it at the token endpoint as Genesys would; it reports the ID token's sub."""

import base64
import hashlib
import json
import re
import secrets
import sys

import django


def main() -> None:
    django.setup()
    import requests
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from tests.data_action import post

    call_command("migrate", interactive=False, verbosity=0)
    user = get_user_model().objects.create_user("hostmember", "hostmember@example.com", "host-pass-2026")
    browser = Client()
    browser.force_login(user)
    page = browser.get("/")
    found = re.search(
        r'<script id="genesys-messenger-data" type="application/json">(.*?)</script>', page.content.decode(), re.S
    )
    data = json.loads(found.group(1)) if found else {}
    attributes = data.get("attributes", {})
    if settings.GENESYS_AUTHENTICATED_MESSAGING:
        print(json.dumps({**authenticated(browser, data), **page_facts(page, user)}))
        return

    sandbox = requests.Session()
    sandbox.trust_env = False
    conversation = sandbox.post(
        f"{settings.GENESYS_API_BASE}/_conversations",
        json={"attributes": attributes, "text": "Hello from a host site"},
        timeout=10,
    )
    conversation.raise_for_status()
    conversation_id = conversation.json()["id"]
    answer = post(
        Client(enforce_csrf_checks=True),
        {"conversationId": conversation_id, "memberToken": attributes.get("memberToken", "")},
    )
    print(
        json.dumps(
            {
                "attributes": attributes,
                "conversation_id": conversation_id,
                "verify_status": answer.status_code,
                "answer": answer.json(),
                **page_facts(page, user),
            }
        )
    )


def page_facts(page, user) -> dict:
    """What both modes report: the page's status and policy, the member's public id, the site's packages loaded."""
    from messaging.identity.adapter import get_member_adapter

    member = get_member_adapter().member_for_user(user)
    return {
        "page_status": page.status_code,
        "csp": page.get("Content-Security-Policy", ""),
        "public_id": member.public_id if member else None,
        "site_packages_loaded": sorted({"accounts", "config", "health"} & set(sys.modules)),
    }


def authenticated(browser, data: dict) -> dict:
    """The page's code, exchanged at the provider's token endpoint as Genesys does; the ID token's claims."""
    import io

    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    call_command("genesys_oidc_client", stdout=io.StringIO())
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    issued = browser.post(
        data["auth"]["codeUrl"],
        {"codeChallenge": challenge, "nonce": secrets.token_urlsafe(16)},
        content_type="application/json",
    )
    code = issued.json()
    credentials = f"{settings.GENESYS_OIDC_CLIENT_ID}:{settings.GENESYS_OIDC_CLIENT_SECRET}"
    token = Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code.get("authCode", ""),
            "redirect_uri": code.get("redirectUri", ""),
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(credentials.encode()).decode(),
    )
    id_token = token.json().get("id_token", "") if token.status_code == 200 else ""
    payload = id_token.split(".")[1] if id_token.count(".") == 2 else ""
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) if payload else {}
    return {
        "auth": data.get("auth"),
        "attributes": data.get("attributes", {}),
        "auth_code_status": issued.status_code,
        "token_status": token.status_code,
        "claims": claims,
    }


if __name__ == "__main__":
    main()
