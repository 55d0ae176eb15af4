"""A level change in this site's admin reaches the member's open conversations over real HTTP, in order: the
site's level (accounts) through messaging's re-push and its worker, against the sandbox."""

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import MembershipLevel
from messaging.models import AttributePush
from tests.data_action import verify

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def run_worker() -> None:
    call_command("deliver_pushes", "--batch", "--no-startup-delay", "--sweep-grace", "0", stdout=io.StringIO())


def server_levels(sandbox, conversation_id: str) -> list[str]:
    """membershipLevel of every push the sandbox received, in order."""
    return [p["attributes"].get("membershipLevel") for p in sandbox.conversation(conversation_id)["pushes"]]


def verified_conversation(sandbox, token: str) -> str:
    cid = sandbox.start_conversation(attributes={"memberToken": token})["id"]
    verify(cid, token)
    return cid


def test_a_level_change_in_the_admin_reaches_every_open_conversation_in_order(
    genesys, alice, bob, admin_client, member_token
):
    # Two pages of Alice's (a token verifies one conversation), one of Bob's.
    first, second = (
        verified_conversation(genesys, member_token(alice)),
        verified_conversation(genesys, member_token(alice)),
    )
    bobs = verified_conversation(genesys, member_token(bob))
    platinum = MembershipLevel.objects.get(name="Platinum")
    response = admin_client.post(
        reverse("admin:accounts_member_changelist"),
        {"action": "move_to_level", "level": platinum.pk, "_selected_action": [alice.pk], "post": "yes"},
        follow=True,
    )
    assert "Moved 1 member to Platinum; 2 open conversations get a new push." in response.content.decode()
    assert AttributePush.objects.filter(cause="level_change", state="pending").count() == 2
    run_worker()
    for cid in (first, second):
        assert server_levels(genesys, cid) == ["Gold", "Platinum"]
        attributes = genesys.conversation(cid)["attributes"]
        assert attributes["membershipLevel"] == {"value": "Platinum", "origin": "server"}
        assert attributes["verified"]["value"] == "true"
    assert server_levels(genesys, bobs) == ["Silver"]
    assert set(AttributePush.objects.values_list("state", flat=True)) == {"delivered"}
