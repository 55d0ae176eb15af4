"""Run inside the host site (DJANGO_SETTINGS_MODULE=tests.hostsite.settings, a sandbox at GENESYS_API_BASE with its
flow off): migrate, make a plain User, render the page with `{% genesys_messenger %}` for her, start a conversation
on the sandbox carrying the page's memberToken, and call the data action endpoint as Genesys would. Prints one
JSON object of what happened (tests/integration/test_host_site.py checks it)."""

import json
import re
import sys

import django


def main() -> None:
    django.setup()
    import requests
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from messaging.identity.adapter import get_member_adapter
    from tests.data_action import post

    call_command("migrate", interactive=False, verbosity=0)
    user = get_user_model().objects.create_user("hostmember", "hostmember@example.com", "host-pass-2026")
    browser = Client()
    browser.force_login(user)
    page = browser.get("/")
    found = re.search(
        r'<script id="genesys-messenger-data" type="application/json">(.*?)</script>', page.content.decode(), re.S
    )
    attributes = json.loads(found.group(1))["attributes"] if found else {}

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
    member = get_member_adapter().member_for_user(user)
    print(
        json.dumps(
            {
                "page_status": page.status_code,
                "csp": page.get("Content-Security-Policy", ""),
                "attributes": attributes,
                "conversation_id": conversation_id,
                "verify_status": answer.status_code,
                "answer": answer.json(),
                "public_id": member.public_id if member else None,
                "site_packages_loaded": sorted({"accounts", "config", "health"} & set(sys.modules)),
            }
        )
    )


if __name__ == "__main__":
    main()
