"""{% genesys_messenger %} through Django's test client: what every page renders for whom, and the logout flag."""

import json
import logging
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from csp.decorators import csp_update
from django.contrib.sessions.backends.db import SessionStore
from django.core.checks import run_checks
from django.http import HttpResponse
from django.template import Context, Template
from django.urls import reverse
from django.utils.html import json_script

from messaging.identity.adapter import get_member_adapter
from messaging.identity.member_token import read_member_token
from messaging.messenger import (
    ANONYMOUS_OWNER,
    DATA_ELEMENT_ID,
    LOGOUT_CLEAR_SESSION_KEY,
    data_element,
    messenger_csp_sources,
    note_messenger_rendered,
)
from messaging.middleware import MessengerCSPMiddleware
from tests.messaging.members import PASSWORD
from tests.page_queries import home_page_queries

ROOT = Path(__file__).resolve().parents[3]
DATA_RE = re.compile(r'<script id="genesys-messenger-data" type="application/json">(.*?)</script>', re.S)
SCRIPT_RE = re.compile(r'</script>\s*<script src="/static/messaging/messenger\.js"></script>')


def messenger_script() -> str:
    return (ROOT / "messaging" / "static" / "messaging" / "messenger.js").read_text()


pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def messenger_on(settings):
    settings.GENESYS_DEPLOYMENT_ID = "11111111-2222-4333-8444-555555555555"
    settings.GENESYS_ENVIRONMENT = "prod-euw1"
    settings.GENESYS_APPS_BASE = "https://apps.mypurecloud.ie"


def page_data(response) -> dict:
    assert response.status_code == 200
    match = DATA_RE.search(response.content.decode())
    assert match, "no Messenger data on the page"
    return json.loads(match.group(1))


def test_anonymous_page_renders_the_official_snippet_and_only_the_flag(client):
    response = client.get("/")
    html = response.content.decode()
    data = page_data(response)
    assert data["attributes"] == {"isAuthenticated": "false"}
    assert data["scriptUrl"] == "https://apps.mypurecloud.ie/genesys-bootstrap/genesys.min.js"
    assert data["environment"] == "prod-euw1"
    assert data["deploymentId"] == "11111111-2222-4333-8444-555555555555"
    assert data["owner"] == ANONYMOUS_OWNER and data["clear"] is False
    assert set(data["removeKeys"]) >= {"memberId", "membershipLevel", "memberToken", "displayName", "email"}
    # The data, then at once the static script that starts Messenger: synchronous (no async, no defer), so it
    # runs before anything after it and queues the attributes before Messenger's own script can load.
    assert SCRIPT_RE.search(html), "no synchronous messenger.js right after the data"
    # The official snippet, and the subscription queued in the same script, after it.
    script = messenger_script()
    assert "g['_genesysJs'] = e".replace("'", '"') in script
    assert '"subscribe", "Database.ready"' in script
    assert script.index('"Database.ready"') > script.index("document.head.appendChild(ys)")


def test_the_tag_needs_no_nonce_and_no_inline_code(client, alice):
    # Issue 16: the page's code is a static file allowed by 'self'; the data block is JSON, never executed.
    for signed_in in (False, True):
        if signed_in:
            client.login(username="alice", password=PASSWORD)
        html = client.get("/").content.decode()
        head = html.split("</head>")[0]
        scripts = re.findall(r"<script[^>]*>", head)
        assert scripts == [
            '<script id="genesys-messenger-data" type="application/json">',
            '<script src="/static/messaging/messenger.js">',
        ]
        assert "nonce" not in head


def csp_directives(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy as directive -> sources."""
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def widget_page(extra_update=None, use_nonce=False):
    """A view that renders the widget (as the tag marks it) and may add its own CSP update or use a nonce."""

    def view(request):
        note_messenger_rendered(request)
        if use_nonce:
            str(request.csp_nonce)
        return HttpResponse("page")

    return MessengerCSPMiddleware(csp_update(extra_update)(view) if extra_update else view)


@pytest.mark.parametrize(
    "data",
    [
        {"name": "</script><script>alert(1)</script>", "amp": "a&b", "quote": "\"'", "accent": "é"},
        {"n": [1, None, True]},
    ],
)
def test_the_member_data_element_is_what_json_script_writes(data):
    assert data_element(data) == json_script(data, DATA_ELEMENT_ID)


def test_a_widget_page_adding_nothing_gets_the_header_django_csp_would_write(rf):
    plain = csp_directives(widget_page()(rf.get("/")))
    # A view's own (redundant) update sends the response down django-csp's per-response merge instead.
    merged = csp_directives(widget_page({"default-src": ["'self'"]})(rf.get("/")))
    assert {name: set(sources) for name, sources in plain.items()} == {
        name: set(sources) for name, sources in merged.items()
    }
    assert set(messenger_csp_sources()["connect-src"]) <= set(plain["connect-src"])


def test_a_widget_page_with_its_own_update_or_a_nonce_keeps_both_in_the_header(rf):
    apps = messenger_csp_sources()["script-src"][0]
    directives = csp_directives(widget_page({"img-src": ["https://images.example"]})(rf.get("/")))
    assert "https://images.example" in directives["img-src"] and apps in directives["img-src"]
    directives = csp_directives(widget_page(use_nonce=True)(rf.get("/")))
    assert any(source.startswith("'nonce-") for source in directives["script-src"]) and apps in directives["script-src"]


def test_a_directive_the_site_leaves_to_default_src_keeps_default_src_s_sources(rf, settings):
    # The site's policy names no connect-src: the browser would use default-src ('self') for the page's fetches.
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'"]}}
    directives = csp_directives(widget_page()(rf.get("/")))
    assert directives["connect-src"][0] == "'self'"
    assert set(messenger_csp_sources()["connect-src"]) <= set(directives["connect-src"])
    assert directives["script-src"].count("'self'") == 1  # a directive the site names is not seeded again


def test_a_real_orgs_page_allows_its_apps_api_and_guest_socket_hosts_and_nothing_wider(client, settings):
    settings.GENESYS_SANDBOX = False
    settings.GENESYS_REGION = "eu-west-1"
    settings.GENESYS_API_BASE = ""
    settings.GENESYS_APPS_BASE = ""
    response = client.get("/")
    directives = csp_directives(response)
    assert directives["connect-src"] == [
        "'self'",
        "https://apps.mypurecloud.ie",
        "https://api.mypurecloud.ie",
        "wss://webmessaging.mypurecloud.ie",
    ]
    for name in ("script-src", "style-src"):
        assert [s for s in directives[name] if not s.startswith("'nonce-")] == ["'self'", "https://apps.mypurecloud.ie"]
    for name in ("font-src", "frame-src"):
        assert directives[name] == ["'self'", "https://apps.mypurecloud.ie"]
    assert directives["img-src"] == ["'self'", "data:", "https://apps.mypurecloud.ie"]
    csp = response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and "*" not in csp
    assert "https:" not in directives["script-src"] and "http:" not in directives["script-src"]


def test_a_sandbox_page_allows_exactly_the_sandboxs_http_and_ws_origins(client, settings):
    settings.GENESYS_SANDBOX = True
    settings.GENESYS_API_BASE = "http://127.0.0.1:8123"
    settings.GENESYS_APPS_BASE = "http://127.0.0.1:8123"
    directives = csp_directives(client.get("/"))
    assert directives["connect-src"] == ["'self'", "http://127.0.0.1:8123", "ws://127.0.0.1:8123"]
    assert [s for s in directives["script-src"] if not s.startswith("'nonce-")] == ["'self'", "http://127.0.0.1:8123"]
    assert "ws:" not in directives["connect-src"] and "http:" not in directives["connect-src"]


def test_the_page_follows_the_settings_of_the_moment(client, settings):
    # No start-up copy to reconcile: a changed apps host is on the next page.
    settings.GENESYS_APPS_BASE = "https://apps.elsewhere.example"
    assert "https://apps.elsewhere.example" in csp_directives(client.get("/"))["script-src"]


def test_without_messenger_no_genesys_host_is_allowed(client, settings):
    settings.GENESYS_DEPLOYMENT_ID = ""
    directives = csp_directives(client.get("/"))
    assert directives["connect-src"] == ["'self'"]
    assert [s for s in directives["script-src"] if not s.startswith("'nonce-")] == ["'self'"]


def test_a_response_without_the_widget_gets_no_messenger_sources(client):
    # The data action endpoint renders no page: nothing of Messenger's is allowed on it.
    response = client.post("/messaging/genesys/verify", data="{}", content_type="application/json")
    assert "apps.mypurecloud.ie" not in response.get("Content-Security-Policy", "")


def test_messenger_csp_sources_for_a_real_region_and_for_the_sandbox(settings):
    settings.GENESYS_SANDBOX = False
    settings.GENESYS_REGION = "eu-west-1"
    settings.GENESYS_API_BASE = ""
    settings.GENESYS_APPS_BASE = ""
    sources = messenger_csp_sources()
    assert sources["script-src"] == ["https://apps.mypurecloud.ie"]
    assert sources["connect-src"] == [
        "https://apps.mypurecloud.ie",
        "https://api.mypurecloud.ie",
        "wss://webmessaging.mypurecloud.ie",
    ]
    settings.GENESYS_SANDBOX = True
    settings.GENESYS_APPS_BASE = "http://127.0.0.1:8123"
    assert messenger_csp_sources()["connect-src"] == ["http://127.0.0.1:8123", "ws://127.0.0.1:8123"]
    settings.GENESYS_DEPLOYMENT_ID = ""
    assert messenger_csp_sources() == {}


@pytest.mark.parametrize(
    "middleware,error",
    [
        (["messaging.middleware.MessengerCSPMiddleware"], False),
        (["csp.middleware.CSPMiddleware"], True),
        (["messaging.middleware.MessengerCSPMiddleware", "csp.middleware.CSPMiddleware"], True),
    ],
)
def test_system_check_requires_the_messenger_csp_middleware_in_place_of_django_csps(settings, middleware, error):
    settings.MIDDLEWARE = middleware
    found = [message for message in run_checks(tags=["security"]) if message.id == "messaging.E004"]
    assert bool(found) is error


def test_signed_in_member_gets_attributes_and_a_token_for_herself(client, alice, public_id):
    client.login(username="alice", password=PASSWORD)
    data = page_data(client.get("/"))
    attrs = data["attributes"]
    member_id = uuid.UUID(public_id(alice))
    assert attrs["isAuthenticated"] == "true"
    assert attrs["memberId"] == str(member_id)
    assert attrs["membershipLevel"] == ""  # the default adapter knows no levels
    assert attrs["displayName"] == "Alice Anders" and attrs["email"] == "alice@example.com"
    assert read_member_token(attrs["memberToken"]) == member_id
    assert all(isinstance(value, str) for value in attrs.values())
    assert data["removeKeys"] == []
    # The marker is a keyed hash: it does not reveal the member id.
    assert data["owner"].startswith("m-") and str(member_id) not in data["owner"]
    assert member_id.hex not in data["owner"]


def test_each_member_gets_a_different_owner_marker_and_token(client, alice, bob, public_id):
    client.login(username="alice", password=PASSWORD)
    alice_data = page_data(client.get("/"))
    client.logout()
    client.login(username="bob", password=PASSWORD)
    bob_data = page_data(client.get("/"))
    assert alice_data["owner"] != bob_data["owner"]
    assert str(read_member_token(bob_data["attributes"]["memberToken"])) == public_id(bob)


def test_a_change_to_the_member_shows_on_the_next_page(client, alice):
    client.login(username="alice", password=PASSWORD)
    assert page_data(client.get("/"))["attributes"]["displayName"] == "Alice Anders"
    alice.first_name = "Alicia"
    alice.save()
    assert page_data(client.get("/"))["attributes"]["displayName"] == "Alicia Anders"


def test_nothing_renders_and_the_page_works_when_messenger_is_not_configured(client, alice, settings):
    settings.GENESYS_DEPLOYMENT_ID = ""
    for _ in range(2):
        response = client.get("/")
        html = response.content.decode()
        assert response.status_code == 200
        assert "genesys" not in html.lower() and "<script" not in html
        client.login(username="alice", password=PASSWORD)


def test_tag_renders_nothing_without_a_request():
    html = Template("{% load genesys %}[{% genesys_messenger %}]").render(Context({}))
    assert "".join(html.split()) == "[]"  # at most whitespace


@pytest.mark.parametrize(
    "name",
    [
        "</script><script>alert(1)</script>",
        "<!--<script>",
        "\u2028\u2029 Zoë 🙂 مرحبا \u202e",
        "\" onload='alert(1)' &amp; ${x}",
    ],
)
def test_hostile_and_unicode_names_render_inert_and_come_back_equal(client, make_member, name):
    make_member("mallory", first_name=name, last_name="")
    client.login(username="mallory", password=PASSWORD)
    response = client.get("/")
    html = response.content.decode()
    head = html.split("</head>")[0]
    assert "<script>alert(1)" not in head and "<!--<script>" not in head
    data = page_data(response)
    assert data["attributes"]["displayName"] == name.strip()
    # Exactly two script elements in the head: the JSON data and the static script.
    assert head.count("<script") == 2 and head.count("</script>") == 2


def test_over_budget_drops_mapped_fields_and_logs(client, make_member, settings, caplog):
    settings.GENESYS_MAX_CUSTOM_DATA_BYTES = 420
    make_member("long", first_name="L" * 140, last_name="M" * 140)
    client.login(username="long", password=PASSWORD)
    with caplog.at_level(logging.WARNING, logger="messaging.attributes"):
        attrs = page_data(client.get("/"))["attributes"]
    assert "displayName" not in attrs and attrs["email"] == "long@example.com"
    assert {"isAuthenticated", "memberId", "membershipLevel", "memberToken"} <= set(attrs)
    assert sum(len(k.encode()) + len(v.encode()) for k, v in attrs.items()) <= 420
    assert "dropped displayName" in caplog.text and "L" * 140 not in caplog.text


def test_mapping_from_settings_adds_fields(client, alice, settings):
    settings.GENESYS_ATTRIBUTE_MAPPING = {"username": "get_username", "firstName": "first_name"}
    client.login(username="alice", password=PASSWORD)
    data = page_data(client.get("/"))
    assert data["attributes"]["username"] == "alice" and data["attributes"]["firstName"] == "Alice"
    assert "email" not in data["attributes"]
    assert "username" in data["memberKeys"]


def test_logout_flags_exactly_the_first_page_after_it(client, alice):
    client.login(username="alice", password=PASSWORD)
    assert page_data(client.get("/"))["clear"] is False
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.session.get(LOGOUT_CLEAR_SESSION_KEY) is True
    first = page_data(client.get(response["Location"]))
    assert first["clear"] is True and first["attributes"] == {"isAuthenticated": "false"}
    assert first["owner"] == ANONYMOUS_OWNER
    assert page_data(client.get("/"))["clear"] is False


def test_signing_in_after_a_logout_shows_the_new_member(client, alice, bob, public_id):
    client.login(username="alice", password=PASSWORD)
    client.get("/")
    client.post(reverse("logout"))
    client.get("/")
    response = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    data = page_data(client.get("/"))
    assert data["attributes"]["memberId"] == public_id(bob)
    assert data["attributes"]["displayName"] == "Bob Berg"


def test_system_check_reports_a_budget_too_small_for_the_required_attributes(settings):
    settings.GENESYS_MAX_CUSTOM_DATA_BYTES = 100
    errors = [message for message in run_checks() if message.id == "messaging.E001"]
    assert errors and "GENESYS_MAX_CUSTOM_DATA_BYTES is 100 bytes" in errors[0].msg


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "DJANGO_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_start_up_fails_with_a_clear_message_when_the_required_attributes_cannot_fit():
    result = _manage("check", GENESYS_MAX_CUSTOM_DATA_BYTES="300")
    assert result.returncode != 0
    assert "GENESYS_MAX_CUSTOM_DATA_BYTES is 300 bytes" in result.stderr
    assert "raise it to at least" in result.stderr


def test_start_up_reads_the_mapping_from_the_environment_and_refuses_a_reserved_name():
    result = _manage("check", GENESYS_ATTRIBUTE_MAPPING='{"memberId": "email"}')
    assert result.returncode != 0
    assert "may not set 'memberId'" in result.stderr
    result = _manage("check", GENESYS_ATTRIBUTE_MAPPING='{"nick": "get_short_name"}')
    assert result.returncode == 0, result.stderr


def test_the_tag_adds_one_query_to_the_home_page_the_members_identity(client, alice, settings):
    # The default adapter reads the user's MemberIdentity (the public id); the session's grant is reused without
    # one. A site's adapter that reads what its page loaded anyway adds none (tests/integration/test_site_messenger.py).
    client.login(username="alice", password=PASSWORD)
    without, with_messenger = home_page_queries(client, settings)
    assert with_messenger == without + 1


def test_a_profile_in_the_context_that_is_not_the_members_own_is_not_used(rf, alice, bob, public_id):
    request = rf.get("/")
    request.user, request.session, request.csp_nonce = alice, SessionStore(), "n"
    html = Template("{% load genesys %}{% genesys_messenger %}").render(
        Context({"request": request, "profile": bob, "member": get_member_adapter().member_for_user(bob)})
    )
    data = json.loads(DATA_RE.search(html).group(1))
    assert data["attributes"]["memberId"] == public_id(alice)
