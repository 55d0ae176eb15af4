"""Issue 18: renaming a level re-pushes the open conversations of its members (and only those), in batches
through the outbox; the bulk action says how many open conversations will get a new push."""

import datetime
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import MembershipLevel
from messaging import services
from messaging.models import AttributePush, ConversationLink

pytestmark = pytest.mark.django_db(transaction=True)  # the re-push runs when the rename commits


def link(user, *, verified=True, state=ConversationLink.State.OPEN, hours_ago=0.0) -> ConversationLink:
    return ConversationLink.objects.create(
        conversation_id=uuid.uuid4(),
        user=user,
        verified=verified,
        state=state,
        last_verified_at=timezone.now() - datetime.timedelta(hours=hours_ago),
    )


def level_pushes() -> dict[uuid.UUID, str]:
    return {
        push.conversation.conversation_id: push.attributes["membershipLevel"]
        for push in AttributePush.objects.filter(cause=AttributePush.Cause.LEVEL_CHANGE).select_related("conversation")
    }


def test_renaming_a_level_re_pushes_the_open_conversations_of_its_members_and_only_those(alice, bob, make_member):
    dora = make_member("dora", "Gold")
    open_alice, open_dora = link(alice), link(dora)
    link(alice, state=ConversationLink.State.CLOSED)  # ended
    link(alice, hours_ago=48)  # older than GENESYS_CONVERSATION_OPEN_HOURS: Genesys has long closed it
    link(alice, verified=False)  # never verified for her: nothing of hers may go there
    link(bob)  # Silver: not renamed
    gold = MembershipLevel.objects.get(name="Gold")
    gold.name = "Gold Plus"
    gold.save()
    assert level_pushes() == {open_alice.conversation_id: "Gold Plus", open_dora.conversation_id: "Gold Plus"}
    assert set(AttributePush.objects.values_list("state", flat=True)) == {"pending"}  # the worker delivers them


def test_other_changes_to_a_level_push_nothing(alice):
    link(alice)
    gold = MembershipLevel.objects.get(name="Gold")
    gold.description = "Our best members"
    gold.rank = 35
    gold.save()
    assert level_pushes() == {}


def test_members_are_re_pushed_in_batches(alice, bob, make_member):
    carol = make_member("carol", "Gold")
    links = {user.pk: link(user) for user in (alice, bob, carol)}
    assert services.repush_members(user_ids=[alice.pk, bob.pk, carol.pk], batch_size=2) == 3
    assert set(level_pushes()) == {item.conversation_id for item in links.values()}


def test_members_without_open_conversations_cost_one_query_per_batch(levels, make_member, django_assert_num_queries):
    users = [make_member(f"m{i}", "Gold") for i in range(5)]
    with django_assert_num_queries(3):  # 5 members in batches of 2: one query each, nothing else
        assert services.repush_members(user_ids=[user.pk for user in users], batch_size=2) == 0


def test_the_bulk_action_says_how_many_open_conversations_will_get_a_new_push(admin_client, alice, bob):
    link(alice)
    link(alice)
    link(bob)
    link(bob, state=ConversationLink.State.CLOSED)
    platinum = MembershipLevel.objects.get(name="Platinum")
    response = admin_client.post(
        reverse("admin:accounts_member_changelist"),
        {"action": "move_to_level", "level": platinum.pk, "_selected_action": [alice.pk, bob.pk], "post": "yes"},
        follow=True,
    )
    assert "Moved 2 members to Platinum; 3 open conversations get a new push." in response.content.decode()
    assert sorted(level_pushes().values()) == ["Platinum"] * 3
