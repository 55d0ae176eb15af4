"""Calls of the site's data action endpoint (POST /messaging/genesys/verify) as the Genesys data action makes them,
shared by the tests that play the flow themselves: the HTTP Basic header, a raw POST, and a checked verify."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.test import Client

from sandbox import defaults

URL = "/messaging/genesys/verify"
USERNAME = defaults.DATA_ACTION_USERNAME
PASSWORD = defaults.DATA_ACTION_PASSWORD
# What every answer carries (the data action's output contract, deploy/genesys/).
ANSWER_KEYS = {"verified", "verifiedAt", "isAuthenticated", "memberId", "membershipLevel", "pushState", "reason"}


def basic(username: str = USERNAME, password: str = PASSWORD) -> str:
    """An HTTP Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def post(client: Client, body: Any, *, auth: str | None = None, content_type: str = "application/json", **extra: Any):
    """POST `body` (JSON-encoded unless str or bytes) with the sandbox's data action credentials unless `auth`."""
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(
        URL, data=data, content_type=content_type, HTTP_AUTHORIZATION=auth if auth is not None else basic(), **extra
    )


def verify(conversation_id: str, token: str) -> dict[str, str]:
    """The data action's call for one conversation, from a fresh client with CSRF checks on (Genesys has no
    cookie): asserts a 200, every answer key with a string value and `Cache-Control: no-store`; answers the JSON."""
    response = post(Client(enforce_csrf_checks=True), {"conversationId": conversation_id, "memberToken": token})
    assert response.status_code == 200, response.content
    data = response.json()
    assert set(data) >= ANSWER_KEYS and all(isinstance(v, str) for v in data.values())
    assert response["Cache-Control"] == "no-store"
    return data
