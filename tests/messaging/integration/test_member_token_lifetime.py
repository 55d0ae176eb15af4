"""The member token lives no longer than the session that received it, and verifies only the conversation it
was set on, once: pages of a signed-in session through Django's test client, the verify endpoint over the real
client against the sandbox (which serves real HTTP)."""

import contextlib
import json
import logging
import threading
import uuid

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from messaging.identity.grants import SESSION_GRANT_KEY
from messaging.identity.member_token import token_digest
from messaging.models import MemberTokenGrant, MemberTokenUse
from messaging.verification import _spend_token
from tests.data_action import verify
from tests.messaging.members import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(alice):
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    return client


def conversation_with(genesys, token: str) -> str:
    """A conversation whose customer carries the token, as Messenger sets it from the page."""
    return genesys.start_conversation(attributes={"isAuthenticated": "true", "memberToken": token})["id"]


def refused(data: dict) -> bool:
    """The unverified answer: no member data at all."""
    return data["verified"] == "false" and data["memberId"] == data["membershipLevel"] == data["email"] == ""


def logged_reason(caplog) -> str:
    return [r.getMessage() for r in caplog.records if r.name == "messaging.verify"][-1].split("reason=")[1].split()[0]


def test_a_page_token_verifies_while_the_session_lives(genesys, signed_in, page_member_token):
    token = page_member_token(signed_in)
    data = verify(conversation_with(genesys, token), token)
    assert data["verified"] == "true" and data["displayName"] == "Alice Anders"


def test_the_token_dies_when_the_member_signs_out(genesys, signed_in, page_member_token, caplog):
    caplog.set_level(logging.INFO)
    token = page_member_token(signed_in)
    assert signed_in.post(reverse("logout")).status_code == 302
    data = verify(conversation_with(genesys, token), token)
    assert refused(data)
    assert logged_reason(caplog) == "revoked"
    assert token not in caplog.text


def test_the_token_dies_when_the_password_changes_and_the_next_page_gets_a_working_one(
    genesys, signed_in, page_member_token, caplog
):
    caplog.set_level(logging.INFO)
    old = page_member_token(signed_in)
    response = signed_in.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "a-new-pass-2027!", "new_password2": "a-new-pass-2027!"},
    )
    assert response.status_code == 302, response.content
    assert refused(verify(conversation_with(genesys, old), old))
    assert logged_reason(caplog) == "password_changed"
    # update_session_auth_hash kept this session signed in: its next page carries a token under a new grant.
    fresh = page_member_token(signed_in)
    assert verify(conversation_with(genesys, fresh), fresh)["verified"] == "true"
    assert MemberTokenGrant.objects.count() == 2


def test_another_page_of_the_same_session_gets_a_token_that_works_too(genesys, signed_in, page_member_token):
    first, second = page_member_token(signed_in), page_member_token(signed_in)
    assert first != second
    assert MemberTokenGrant.objects.count() == 1  # one grant per session; a page reusing it costs no write
    assert verify(conversation_with(genesys, second), second)["verified"] == "true"
    assert verify(conversation_with(genesys, first), first)["verified"] == "true"


def test_the_token_dies_when_the_session_expires(genesys, signed_in, page_member_token, caplog):
    caplog.set_level(logging.INFO)
    token = page_member_token(signed_in)
    grant = MemberTokenGrant.objects.get(grant_id=signed_in.session[SESSION_GRANT_KEY]["id"])
    MemberTokenGrant.objects.filter(pk=grant.pk).update(expires_at=grant.created_at)  # as if the session ended
    assert refused(verify(conversation_with(genesys, token), token))
    assert logged_reason(caplog) == "session_expired"


def test_a_token_cannot_verify_a_conversation_it_is_not_on(genesys, signed_in, page_member_token, caplog):
    caplog.set_level(logging.INFO)
    token = page_member_token(signed_in)
    elsewhere = genesys.start_conversation(attributes={"isAuthenticated": "true", "memberToken": "someone-else"})
    data = verify(elsewhere["id"], token)
    assert refused(data)
    assert logged_reason(caplog) == "wrong_conversation"
    assert genesys.conversation(elsewhere["id"])["pushes"] == []  # answered, nothing pushed there
    # Refused there, it still verifies the conversation it is on.
    assert verify(conversation_with(genesys, token), token)["verified"] == "true"


def test_a_spent_token_replayed_onto_another_conversation_is_refused(genesys, signed_in, page_member_token, caplog):
    caplog.set_level(logging.INFO)
    token = page_member_token(signed_in)
    mine = conversation_with(genesys, token)
    assert verify(mine, token)["verified"] == "true"
    # Someone who read it off the participant starts a conversation of their own carrying it.
    replay = conversation_with(genesys, token)
    assert refused(verify(replay, token))
    assert logged_reason(caplog) == "already_used"
    # A retried data action on the first conversation still gets its verified answer.
    assert verify(mine, token)["verified"] == "true"


def test_a_verified_push_leaves_no_token_on_the_participant(genesys, signed_in, page_member_token):
    token = page_member_token(signed_in)
    cid = conversation_with(genesys, token)
    assert verify(cid, token)["verified"] == "true"
    conversation = genesys.conversation(cid)
    assert conversation["attributes"]["memberToken"] == {"value": "", "origin": "server"}
    customer = next(p for p in conversation["participants"] if p["purpose"] == "customer")
    assert customer["attributes"]["memberToken"] == ""
    assert token not in json.dumps([conversation["participants"], conversation["pushes"]])


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "in-a-transaction"])
def test_a_token_bound_meanwhile_to_another_conversation_is_refused_and_the_connection_stays_usable(
    alice, member_token, in_transaction
):
    # A concurrent verify bound the token between our check and our INSERT: the unique digest refuses ours.
    token = member_token(alice)
    theirs, ours = uuid.uuid4(), uuid.uuid4()
    MemberTokenUse.objects.create(token_digest=token_digest(token), conversation_id=theirs)
    with transaction.atomic() if in_transaction else contextlib.nullcontext():
        assert not _spend_token(token, ours).exists()
        assert _spend_token(token, theirs).exists()  # the same conversation again: a retried data action
        assert MemberTokenUse.objects.get().conversation_id == theirs  # the connection still answers
    assert _spend_token(member_token(alice), ours).exists()
    assert MemberTokenUse.objects.count() == 2


def test_one_token_replayed_on_two_conversations_at_once_verifies_one_of_them(genesys, alice, member_token):
    # The token is spent inside the transaction that records the push: a verify of another conversation waits on
    # the uncommitted spend, then finds it taken. Whichever order the two run in, exactly one is verified.
    from django.db import connections

    if connections["default"].vendor == "sqlite" and connections["default"].is_in_memory_db():
        pytest.skip("SQLite's in-memory test database locks tables across threads without waiting (SQLITE_LOCKED)")
    token = member_token(alice)
    conversations = [conversation_with(genesys, token) for _ in range(2)]
    barrier = threading.Barrier(2)
    answers: dict[str, dict] = {}

    def play(conversation_id: str) -> None:
        try:
            barrier.wait(10)
            answers[conversation_id] = verify(conversation_id, token)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=play, args=(cid,)) for cid in conversations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answers[cid]["verified"] for cid in conversations) == ["false", "true"]
    winner = next(cid for cid in conversations if answers[cid]["verified"] == "true")
    assert refused(answers[next(cid for cid in conversations if cid != winner)])
    assert [str(use.conversation_id) for use in MemberTokenUse.objects.all()] == [winner]
