"""POST /messaging/genesys/verify: every bad input, the credentials, the rate limit and the body limit, then the
real path over HTTP against the sandbox (the real client, the real token service): verified, forged, expired,
anonymous, revoked, on the wrong conversation, a repeat, Genesys down, and no secret in any answer or log line.
(The token's life with the session: test_member_token_lifetime.py.)"""

import base64
import json
import logging
import re
import time
import uuid
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from messaging.models import AttributePush, ConversationLink, MemberTokenGrant
from sandbox import defaults
from sandbox.launcher import GET_ROUTE, PATCH_ROUTE
from tests.data_action import ANSWER_KEYS, PASSWORD, URL, USERNAME, basic, post, verify


@pytest.fixture
def credentials(settings):
    settings.GENESYS_DATA_ACTION_USERNAME = USERNAME
    settings.GENESYS_DATA_ACTION_PASSWORD = PASSWORD
    return settings


def test_the_url_is_named():
    assert reverse("messaging:genesys-verify") == URL


# --- refused before anything is read ---


@pytest.mark.django_db
@pytest.mark.parametrize(
    "auth",
    [
        "",
        basic(password="wrong"),
        basic(username="someone-else"),
        basic(password=PASSWORD + "x"),
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer " + PASSWORD,
        basic(username="", password=""),
    ],
)
def test_wrong_or_missing_credentials_answer_401_with_a_challenge(client, credentials, auth):
    response = post(client, {"conversationId": str(uuid.uuid4()), "memberToken": ""}, auth=auth)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}
    assert response["WWW-Authenticate"].startswith('Basic realm="genesys-data-action"')
    assert not ConversationLink.objects.exists()


@pytest.mark.django_db
def test_no_configured_credentials_refuse_everyone(client, settings):
    settings.GENESYS_DATA_ACTION_USERNAME = ""
    settings.GENESYS_DATA_ACTION_PASSWORD = ""
    response = post(client, {"conversationId": str(uuid.uuid4()), "memberToken": ""}, auth=basic("", ""))
    assert response.status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_only_post(client, credentials, method):
    response = getattr(client, method)(URL, HTTP_AUTHORIZATION=basic())
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == {"error": "method_not_allowed"}


@pytest.mark.django_db
def test_a_large_body_is_refused(client, credentials):
    body = json.dumps({"conversationId": str(uuid.uuid4()), "memberToken": "x" * 9000})
    response = post(client, body)
    assert response.status_code == 413
    assert response.json() == {"error": "body_too_large", "limit_bytes": 8192}


@pytest.mark.django_db
def test_a_body_that_lies_about_its_length_is_still_cut_off(credentials, settings):
    from django.test import RequestFactory

    from messaging.views import verify

    request = RequestFactory().post(
        URL, data=b"x" * 10_000, content_type="application/json", HTTP_AUTHORIZATION=basic()
    )
    request.META["CONTENT_LENGTH"] = "100"
    assert verify(request).status_code in {400, 413}


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_only_json(client, credentials, content_type):
    body = json.dumps({"conversationId": str(uuid.uuid4()), "memberToken": ""})
    response = client.generic("POST", URL, body, content_type=content_type, HTTP_AUTHORIZATION=basic())
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["{not json", "", "\xff\xfe", "[1, 2]", '"a string"', "null"])
def test_malformed_json_is_400(client, credentials, body):
    # CONTENT_TYPE given explicitly: the test client leaves it out for an empty body.
    response = post(client, body.encode("latin-1"), CONTENT_TYPE="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


# Finding 8 of issue 21: 7 KB of nested JSON answered 500 (RecursionError). Every shape below is a 4xx of ours.
@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        "[" * 3500 + "]" * 3500,
        '{"a":' * 1300 + "1" + "}" * 1300,
        '{"conversationId": "' + str(uuid.UUID(int=1)) + '", "memberToken": ' + "[" * 3000 + "]" * 3000 + "}",
        '{"conversationId": 1' + "0" * 5000 + "}",  # an integer past Python's digit limit
    ],
    ids=["arrays", "objects", "in-a-field", "huge-integer"],
)
def test_deep_or_huge_json_within_the_size_limit_is_400(client, credentials, body):
    assert len(body) <= 8192
    response = post(client, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_json"


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["conversationId", "memberToken", "sub"])
@pytest.mark.parametrize("depth", [900, 950, 990, 1100])
def test_a_field_nested_about_as_deep_as_the_parser_takes_is_400(client, credentials, field, depth):
    # Around the depth where the parser gives up, which depends on the stack in use: either it refuses, or it
    # parses and the field is refused before str() of it (what a form field takes) recurses past the limit.
    body = {
        name: value for name, value in {"conversationId": str(uuid.uuid4()), "memberToken": ""}.items() if name != field
    }
    raw = json.dumps(body)[:-1] + f', "{field}": ' + "[" * depth + "]" * depth + "}"
    response = post(client, raw)
    assert response.status_code == 400, response.content
    assert response.json() in (
        {"error": "invalid_request", "fields": {field: ["Must be a string."]}},
        {"error": "invalid_json", "detail": "nested too deeply"},
    )


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["conversationId", "memberToken", "sub"])
@pytest.mark.parametrize(
    "value", [None, True, 0, 1.5, 1e308, [], ["x"], {}, {"a": "b"}], ids=lambda value: type(value).__name__
)
def test_a_field_of_the_wrong_type_is_400_naming_it(client, credentials, field, value):
    body = {"conversationId": str(uuid.uuid4()), "memberToken": "", field: value}
    response = post(client, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request" and field in response.json()["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("conversationId", str(uuid.UUID(int=5))[:-1] + "\x00"),
        ("memberToken", "abc\x00def"),
        ("sub", str(uuid.UUID(int=5)) + "\x00"),
        ("sub", "\x00"),
        ("memberToken", "t" * 513),
        ("sub", "s" * 256),
        ("conversationId", "c" * 5000),
    ],
    ids=["nul-id", "nul-token", "nul-after-sub", "nul-sub", "long-token", "long-sub", "long-id"],
)
def test_nul_bytes_and_oversized_fields_are_400(client, credentials, field, value):
    response = post(client, {"conversationId": str(uuid.uuid4()), "memberToken": "", field: value})
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == [field]
    assert not ConversationLink.objects.exists()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@pytest.mark.django_db
@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        JSON_VALUES,
        st.fixed_dictionaries(
            {},
            optional={
                "conversationId": JSON_VALUES | st.uuids().map(str),
                "memberToken": JSON_VALUES,
                "sub": JSON_VALUES | st.uuids().map(str),
            },
        ),
    )
)
def test_any_json_body_is_answered_with_json_never_a_500(client, credentials, body):
    response = post(client, json.dumps(body))
    assert response.status_code in (200, 400), response.content
    data = response.json()
    assert (
        (data["verified"] == "false" and data["pushState"] == "none") if response.status_code == 200 else data["error"]
    )
    assert not ConversationLink.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"memberToken": "t"}, "conversationId", "This field is required."),
        ({"conversationId": str(uuid.uuid4())}, "memberToken", "This field is required."),
        ({"conversationId": "not-a-uuid", "memberToken": "t"}, "conversationId", "Must be a UUID."),
        ({"conversationId": "", "memberToken": "t"}, "conversationId", "This field is required."),
        ({"conversationId": 12345, "memberToken": "t"}, "conversationId", "Must be a string."),
        ({"conversationId": str(uuid.uuid4()), "memberToken": 5}, "memberToken", "Must be a string."),
        ({"conversationId": str(uuid.uuid4()), "memberToken": ["t"]}, "memberToken", "Must be a string."),
        ({"conversationId": str(uuid.uuid4()), "memberToken": "t" * 600}, "memberToken", None),
        ({"conversationId": str(uuid.uuid4()), "sub": 5}, "sub", "Must be a string."),
        ({"conversationId": str(uuid.uuid4()), "sub": ""}, "memberToken", "This field is required."),
        ({"conversationId": str(uuid.uuid4()), "sub": "s" * 300}, "sub", None),
    ],
)
def test_a_bad_field_is_400_naming_the_field(client, credentials, body, field, message):
    response = post(client, body)
    assert response.status_code == 400
    data = response.json()
    assert data["error"] == "invalid_request"
    assert list(data["fields"]) == [field]
    if message:
        assert data["fields"][field] == [message]
    assert not ConversationLink.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_rate_limited_with_json_and_retry_after(client, genesys, alice, member_token, settings):
    settings.GENESYS_VERIFY_RATE = "3/m"
    token = member_token(alice)
    body = {"conversationId": genesys.start_conversation(attributes={"memberToken": token})["id"], "memberToken": token}
    statuses = [post(client, body).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = post(client, body)
    assert response.status_code == 429
    assert response.json() == {"error": "rate_limited"}
    assert 1 <= int(response["Retry-After"]) <= 60  # the exact wait: test_retry_after.py


@pytest.mark.django_db(transaction=True)
def test_the_limit_lifts_when_its_window_ends(client, genesys, alice, member_token, settings, rate_limit_clock):
    settings.GENESYS_VERIFY_RATE = "2/m"
    token = member_token(alice)
    body = {"conversationId": genesys.start_conversation(attributes={"memberToken": token})["id"], "memberToken": token}
    assert [post(client, body).status_code for _ in range(3)] == [200, 200, 429]
    rate_limit_clock.advance(60)
    assert [post(client, body).status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.django_db(transaction=True)
def test_calls_that_cost_genesys_nothing_are_not_counted(client, genesys, alice, member_token, settings):
    # Anyone can start guest conversations (and set a junk memberToken on them): answering them costs no Genesys
    # call, so they never use up the members' rate.
    settings.GENESYS_VERIFY_RATE = "2/m"
    junk = [{"memberToken": ""}, {"memberToken": "x"}, {"sub": str(uuid.uuid4())}, {"memberToken": "t" * 600}]
    statuses = [post(client, {"conversationId": str(uuid.uuid4()), **body}).status_code for body in junk * 25]
    assert set(statuses) == {200, 400}
    token = member_token(alice)
    cid = genesys.start_conversation(attributes={"memberToken": token})["id"]
    assert verify(cid, token)["verified"] == "true"
    assert api_calls(genesys) == (1, 1)  # the member's GET and PATCH, and nothing for the hundred before


@pytest.mark.django_db
def test_bad_credentials_beyond_their_own_limit_get_429(client, credentials, settings):
    settings.GENESYS_VERIFY_FAILED_AUTH_RATE = "3/m"
    statuses = [post(client, {}, auth=basic(password=f"guess{i}")).status_code for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    response = post(client, {}, auth="")
    assert response.status_code == 429 and response.json() == {"error": "rate_limited"}
    assert 1 <= int(response["Retry-After"]) <= 60  # the exact wait: test_retry_after.py
    assert "WWW-Authenticate" not in response


@pytest.mark.django_db(transaction=True)
def test_strangers_on_a_shared_address_cannot_spend_genesys_budget(client, genesys, alice, settings, member_token):
    settings.GENESYS_VERIFY_RATE = "10/m"  # fewer than the strangers' calls: they must not count against it
    token = member_token(alice)
    conversation = genesys.start_conversation(attributes={"memberToken": token})
    strangers = [post(client, {}, auth=basic(password=f"guess{i}")).status_code for i in range(50)]
    assert set(strangers) == {401, 429} and strangers[:30] == [401] * 30  # GENESYS_VERIFY_FAILED_AUTH_RATE 30/m
    data = verify(conversation["id"], token)  # same address: 200
    assert data["verified"] == "true"
    again = {"conversationId": conversation["id"], "memberToken": token}
    answered = [post(client, again).status_code for _ in range(10)]  # the budget left: 9 more
    assert answered == [200] * 9 + [429]


# --- the real path against the sandbox ---


def api_calls(sandbox):
    requests = sandbox.stats()["requests"]
    return requests.get(GET_ROUTE, 0), requests.get(PATCH_ROUTE, 0)


@pytest.mark.django_db(transaction=True)
def test_a_valid_token_pushes_the_servers_attributes(client, genesys, alice, member_token, public_id):
    token = member_token(alice)
    # The page's attributes, as Messenger sends them; the browser claims Platinum.
    conversation = genesys.start_conversation(
        attributes={
            "isAuthenticated": "true",
            "memberId": public_id(alice),
            "membershipLevel": "Platinum",
            "memberToken": token,
        }
    )
    cid = conversation["id"]
    started = time.monotonic()
    data = verify(cid, token)
    assert time.monotonic() - started < 10  # far inside the data action's 20 s, on a busy CI machine too
    assert data["verified"] == "true" and data["pushState"] == "delivered"
    assert data["isAuthenticated"] == "true"
    assert data["memberId"] == public_id(alice)
    assert data["membershipLevel"] == ""  # the server's (the default adapter knows no levels), not the browser's
    assert data["displayName"] == "Alice Anders" and data["email"] == "alice@example.com"
    assert data["verifiedAt"].endswith("Z")
    assert "memberToken" not in data

    customer = genesys.conversation(cid)["attributes"]
    for key in ["verified", "verifiedAt", "isAuthenticated", "memberId", "membershipLevel", "displayName", "email"]:
        assert customer[key] == {"value": data[key], "origin": "server"}, key
    assert customer["memberToken"] == {"value": "", "origin": "server"}  # emptied: nothing left to replay
    assert api_calls(genesys) == (1, 1)  # the GET that checked the token found the customer for the PATCH

    push = AttributePush.objects.get()
    assert push.state == "delivered" and push.version == 1 and push.attempts == 1
    assert push.user == alice and push.verified
    link = ConversationLink.objects.get()
    assert str(link.conversation_id) == cid and link.user == alice and link.participant_id

    # A repeat (Genesys retried the data action): same version, one PATCH and no GET.
    again = verify(cid, token)
    assert again == data
    assert api_calls(genesys) == (1, 2)
    assert AttributePush.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "kind", ["forged", "expired", "garbage", "anonymous", "unknown_member", "revoked", "wrong_conversation"]
)
def test_a_token_that_proves_nothing_is_answered_and_pushes_nothing(
    client, genesys, alice, bob, settings, member_token, caplog, kind
):
    caplog.set_level(logging.INFO)
    profile = alice
    token = member_token(profile)
    presented = None
    if kind == "forged":
        # Bob's valid token with Alice's id spliced in: the signature no longer matches.
        token = member_token(profile).split(":")[0] + ":" + member_token(bob).split(":", 1)[1]
    elif kind == "revoked":
        MemberTokenGrant.objects.update(revoked_at=timezone.now())
    elif kind == "wrong_conversation":
        presented = member_token(profile)  # a good token, but not the one this conversation carries
    elif kind == "expired":
        settings.GENESYS_MEMBER_TOKEN_MAX_AGE = -1
    elif kind == "garbage":
        token = "not a token"
    elif kind == "anonymous":
        token = ""
    elif kind == "unknown_member":
        alice.delete()
    page = {"isAuthenticated": "true", "memberId": "someone", "membershipLevel": "Platinum", "memberToken": token}
    cid = genesys.start_conversation(attributes=page)["id"]
    data = verify(cid, presented or token)
    reason = {"forged": "bad_signature", "garbage": "malformed", "anonymous": "no_token"}.get(kind, kind)
    assert data["verified"] == "false" and data["pushState"] == "none" and data["reason"] == reason
    assert f"reason={reason} " in caplog.text
    assert data["isAuthenticated"] == "false"
    assert data["memberId"] == data["membershipLevel"] == data["displayName"] == data["email"] == ""
    # Only a live token is worth a look at the conversation; nothing is recorded or pushed either way (participant
    # data is the browser's to write: the flow routes on this answer, agents read the member card).
    assert api_calls(genesys) == ((1, 0) if kind == "wrong_conversation" else (0, 0))
    conversation = genesys.conversation(cid)
    assert conversation["pushes"] == []
    assert {v["origin"] for v in conversation["attributes"].values()} == {"widget"}
    assert not AttributePush.objects.exists() and not ConversationLink.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_bad_tokens_after_a_verify_leave_the_verified_conversation_as_it_is(client, genesys, alice, bob, member_token):
    # Finding 1 of issue 21: three verifies with bad tokens ("x", forged, "") pushed verified "false" and cleared
    # alice's attributes on her verified conversation.
    token = member_token(alice)
    cid = genesys.start_conversation(attributes={"memberToken": token})["id"]
    assert verify(cid, token)["verified"] == "true"
    verified = genesys.conversation(cid)
    forged = token.split(":")[0] + ":" + member_token(bob).split(":", 1)[1]
    for bad in ["x", forged, ""]:
        data = verify(cid, bad)
        assert data["verified"] == "false" and data["pushState"] == "none"
    after = genesys.conversation(cid)
    assert after["pushes"] == verified["pushes"] and len(after["pushes"]) == 1
    assert after["attributes"] == verified["attributes"]
    assert after["attributes"]["verified"] == {"value": "true", "origin": "server"}
    assert after["attributes"]["displayName"] == {"value": "Alice Anders", "origin": "server"}
    assert api_calls(genesys) == (1, 1)
    assert [p.verified for p in AttributePush.objects.all()] == [True]


@pytest.mark.django_db(transaction=True)
def test_genesys_down_still_answers_from_the_database(client, genesys, alice, settings, member_token):
    settings.GENESYS_RETRY_TOTAL = 0
    token = member_token(alice)
    cid = genesys.start_conversation(attributes={"memberToken": token})["id"]
    genesys.faults(route=PATCH_ROUTE, status=503, ratio=1)
    started = time.monotonic()
    data = verify(cid, token)
    assert time.monotonic() - started < 10
    assert data["verified"] == "true" and data["displayName"] == "Alice Anders"
    assert data["pushState"] == "pending"
    push = AttributePush.objects.get()
    assert push.state == "pending" and push.attempts == 1 and "GenesysUnavailable" in push.last_error
    task = DBTaskResult.objects.get(task_path="messaging.tasks.deliver_conversation_pushes")
    assert task.run_after == push.next_attempt_at

    # Genesys is back; the worker runs the task.
    genesys.clear_faults()
    AttributePush.objects.filter(pk=push.pk).update(next_attempt_at=task.enqueued_at)
    from messaging.tasks import deliver_conversation_pushes

    assert deliver_conversation_pushes.call(push.conversation_id) == "delivered"
    assert genesys.conversation(cid)["attributes"]["verified"] == {"value": "true", "origin": "server"}


@pytest.mark.django_db(transaction=True)
def test_a_slow_genesys_cannot_hold_the_answer(client, genesys, alice, settings, member_token, inline_calls):
    # A deadline far above what the steps before the PATCH take even on a loaded machine, and a PATCH far above
    # the deadline but within the client's read timeout (10 s): only the PATCH can outlive the deadline.
    settings.GENESYS_VERIFY_INLINE_BUDGET = 3.0
    token = member_token(alice)
    cid = genesys.start_conversation(attributes={"memberToken": token})["id"]
    genesys.faults(route=PATCH_ROUTE, latency_ms=8000)
    data = verify(cid, token)
    assert data["pushState"] == "pending" and data["verified"] == "true"
    # The answer was cut off by the deadline with the PATCH in flight, not by the client's timeouts, and did not
    # wait for Genesys' 8 s: a PATCH that had ended would have left the push delivered or failed.
    push = AttributePush.objects.get()
    assert push.last_error == "Genesys took longer than the 3s inline deadline"
    assert push.state == "pending" and push.attempts == 1
    assert ConversationLink.objects.get().lease_owner  # kept for the call in flight
    inline_calls.wait()  # the call in flight ends before the database is flushed
    assert genesys.conversation(cid)["attributes"]["verified"] == {"value": "true", "origin": "server"}  # it landed


@pytest.mark.django_db(transaction=True)
def test_while_genesys_cannot_show_the_conversation_a_live_token_is_spent_on_it(
    client, genesys, alice, settings, member_token, caplog
):
    # The answer does not wait for Genesys: the token's live grant vouches, and the token is spent right here.
    caplog.set_level(logging.INFO)
    settings.GENESYS_RETRY_TOTAL = 0
    token = member_token(alice)
    cid = genesys.start_conversation(attributes={"memberToken": token})["id"]
    genesys.faults(route=GET_ROUTE, status=503, ratio=1)
    data = verify(cid, token)
    assert data["verified"] == "true" and data["displayName"] == "Alice Anders"
    assert "reason=verified_unchecked" in caplog.text
    genesys.clear_faults()
    elsewhere = genesys.start_conversation(attributes={"memberToken": token})["id"]
    assert verify(elsewhere, token)["verified"] == "false"  # already used


@pytest.mark.django_db(transaction=True)
def test_an_unknown_conversation_is_answered_and_nothing_recorded(client, genesys, alice, member_token):
    data = verify(str(uuid.uuid4()), member_token(alice))
    assert data["verified"] == "false" and data["pushState"] == "none" and data["reason"] == "wrong_conversation"
    assert not AttributePush.objects.exists() and not ConversationLink.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_no_secret_in_answers_logs_or_admin(client, genesys, alice, admin_user, caplog, settings, member_token):
    caplog.set_level(logging.DEBUG)
    settings.GENESYS_RETRY_TOTAL = 0
    member_token = member_token(alice)
    bodies = []
    cid = genesys.start_conversation(attributes={"memberToken": member_token})["id"]
    genesys.faults(route=PATCH_ROUTE, status=500, ratio=1)
    bodies.append(post(client, {"conversationId": cid, "memberToken": member_token}).content)
    bodies.append(post(client, {"conversationId": cid, "memberToken": member_token + "x"}).content)
    bodies.append(post(client, {"conversationId": "nope", "memberToken": member_token}).content)
    bodies.append(post(client, {"conversationId": cid, "memberToken": member_token}, auth=basic("x", "y")).content)
    other = genesys.start_conversation()["id"]
    bodies.append(post(client, {"conversationId": other, "memberToken": member_token}).content)
    genesys.clear_faults()

    from messaging.genesys.oauth import get_access_token

    access_token = get_access_token()
    secrets = [PASSWORD, defaults.CLIENT_SECRET, access_token, member_token, base64.b64encode(PASSWORD.encode())]
    admin = Client()
    admin.force_login(admin_user)
    urls = [
        reverse("admin:messaging_attributepush_changelist"),
        reverse("admin:messaging_attributepush_changelist") + "?state__exact=pending",
        reverse("admin:messaging_conversationlink_changelist"),
    ]
    urls += [reverse("admin:messaging_attributepush_change", args=[p.pk]) for p in AttributePush.objects.all()]
    urls += [reverse("admin:messaging_conversationlink_change", args=[c.pk]) for c in ConversationLink.objects.all()]
    responses = [admin.get(url) for url in urls]
    assert [r.status_code for r in responses] == [200] * len(urls)
    pages = [r.content for r in responses]
    assert b"GenesysUnavailable" in pages[1] and b"Alice Anders" in b"".join(pages)
    stored = json.dumps(list(AttributePush.objects.values("attributes", "last_error")))
    for secret in secrets:
        secret = secret.decode() if isinstance(secret, bytes) else secret
        assert secret not in caplog.text
        assert secret not in stored
        for body in bodies + pages:
            assert secret.encode() not in body


@pytest.mark.django_db(transaction=True)
def test_csrf_does_not_apply(genesys, alice):
    cid = genesys.start_conversation()["id"]
    response = post(Client(enforce_csrf_checks=True), {"conversationId": cid, "memberToken": ""})
    assert response.status_code == 200


# --- the data action export in deploy/genesys matches this endpoint ---

DATA_ACTION = Path(__file__).resolve().parents[3] / "deploy" / "genesys" / "verify-member.data-action.json"


def render_request(template: str, inputs: dict[str, str]) -> str:
    """The two Velocity forms the export uses: $!esc.jsonString($!{input.x}) (JSON string escaping, no quotes)."""

    def escaped(match):
        return json.dumps(inputs.get(match.group(1), ""))[1:-1]

    return re.sub(r"\$!esc\.jsonString\(\$!\{input\.(\w+)\}\)", escaped, template)


def test_the_data_action_export_fits_the_endpoint():
    action = json.loads(DATA_ACTION.read_text())
    assert action["integrationType"] == "custom-rest-actions" and action["actionType"] == "custom"
    request = action["config"]["request"]
    assert request["requestType"] == "POST" and request["requestUrlTemplate"].endswith(URL)
    assert request["headers"]["Content-Type"] == "application/json"
    assert "Authorization" not in request["headers"]  # the integration's Basic credentials add it
    assert 0 < action["config"]["timeoutSeconds"] <= 20
    outputs = action["contract"]["output"]["successSchema"]["properties"]
    response = action["config"]["response"]
    assert set(outputs) == set(response["translationMap"]) == set(response["translationMapDefaults"])
    assert set(outputs) <= ANSWER_KEYS and {"verified", "membershipLevel", "pushState"} <= set(outputs)
    assert json.loads(response["translationMapDefaults"]["verified"]) == "false"
    assert set(action["contract"]["input"]["inputSchema"]["properties"]) == {"conversationId", "memberToken"}
    # A token with quotes in it stays one string: it cannot add a second conversationId.
    cid = str(uuid.uuid4())
    nasty = f'x", "conversationId": "{uuid.uuid4()}'
    body = json.loads(render_request(request["requestTemplate"], {"conversationId": cid, "memberToken": nasty}))
    assert body == {"conversationId": cid, "memberToken": nasty}


@pytest.mark.django_db
def test_a_repeated_key_is_refused(client, credentials):
    cid, other = uuid.uuid4(), uuid.uuid4()
    body = f'{{"conversationId": "{cid}", "memberToken": "x", "conversationId": "{other}"}}'
    response = post(client, body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json" and "conversationId" in response.json()["detail"]
    assert not ConversationLink.objects.exists()


def test_the_authenticated_data_action_export_sends_the_sub_and_has_the_same_outputs():
    plain = json.loads(DATA_ACTION.read_text())
    action = json.loads((DATA_ACTION.parent / "verify-member-authenticated.data-action.json").read_text())
    assert action["config"]["response"] == plain["config"]["response"]
    assert action["contract"]["output"] == plain["contract"]["output"]
    assert set(action["contract"]["input"]["inputSchema"]["properties"]) == {"conversationId", "sub"}
    cid = str(uuid.uuid4())
    body = json.loads(
        render_request(action["config"]["request"]["requestTemplate"], {"conversationId": cid, "sub": 'a"b'})
    )
    assert body == {"conversationId": cid, "sub": 'a"b'}
