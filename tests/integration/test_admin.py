import uuid

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import MembershipLevel
from messaging.models import AttributePush, ConversationLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, levels):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x-Admin-2026")
    client.force_login(admin)
    client.admin_user = admin
    return client


def test_member_list_shows_level_and_filters_and_searches(admin_client, alice, bob):
    url = reverse("admin:auth_user_changelist")
    body = admin_client.get(url).content.decode()
    for text in ["alice", "alice@example.com", "Gold", "bob", "Silver", "Last login"]:
        assert text in body
    gold = MembershipLevel.objects.get(name="Gold")
    filtered = admin_client.get(url, {"member_profile__level__id__exact": gold.pk}).content.decode()
    assert "alice@example.com" in filtered and "bob@example.com" not in filtered
    searched = admin_client.get(url, {"q": "Silver"}).content.decode()
    assert "bob@example.com" in searched and "alice@example.com" not in searched


def test_bulk_action_moves_selected_members_and_logs_each(admin_client, alice, bob, make_member):
    carol = make_member("carol", "Bronze")
    platinum = MembershipLevel.objects.get(name="Platinum")
    response = admin_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "move_to_level", "level": platinum.pk, "_selected_action": [alice.pk, bob.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Moved 2 member(s) to Platinum; 0 open conversation(s) will get a new push." in response.content.decode()
    for user, expected in [(alice, "Platinum"), (bob, "Platinum"), (carol, "Bronze")]:
        user.member_profile.refresh_from_db()
        assert user.member_profile.level.name == expected
    history = LogEntry.objects.filter(user=admin_client.admin_user).order_by("object_id")
    assert [(e.object_repr, e.get_change_message()) for e in history] == [
        ("alice", "Changed membership level from Gold to Platinum."),
        ("bob", "Changed membership level from Silver to Platinum."),
    ]


def test_bulk_action_without_a_level_changes_nothing(admin_client, alice):
    response = admin_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "move_to_level", "level": "", "_selected_action": [alice.pk]},
        follow=True,
    )
    assert "Choose a level" in response.content.decode()
    alice.member_profile.refresh_from_db()
    assert alice.member_profile.level.name == "Gold"


def test_profile_level_is_editable_from_the_user_page(admin_client, alice):
    url = reverse("admin:auth_user_change", args=[alice.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
    data.update(
        {
            "username": "alice",
            "first_name": "Alice",
            "last_name": "Anders",
            "email": "alice@example.com",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "is_active": "on",
            "member_profile-TOTAL_FORMS": "1",
            "member_profile-INITIAL_FORMS": "1",
            "member_profile-MIN_NUM_FORMS": "0",
            "member_profile-MAX_NUM_FORMS": "1",
            "member_profile-0-id": alice.member_profile.pk,
            "member_profile-0-user": alice.pk,
            "member_profile-0-level": MembershipLevel.objects.get(name="Silver").pk,
            # The read-only level history inline: its management form only.
            "level_changes-TOTAL_FORMS": "0",
            "level_changes-INITIAL_FORMS": "0",
        }
    )
    data.pop("groups", None)
    data.pop("user_permissions", None)
    data.pop("last_login", None)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    alice.member_profile.refresh_from_db()
    assert alice.member_profile.level.name == "Silver"
    entry = LogEntry.objects.filter(object_id=str(alice.pk)).latest("action_time")
    assert "member profile" in entry.get_change_message().lower()


def test_levels_are_added_renamed_and_reordered_in_the_admin(admin_client):
    add = admin_client.post(
        reverse("admin:accounts_membershiplevel_add"), {"name": "Diamond", "rank": 50, "description": "Top"}
    )
    assert add.status_code == 302
    diamond = MembershipLevel.objects.get(name="Diamond")
    rename = admin_client.post(
        reverse("admin:accounts_membershiplevel_change", args=[diamond.pk]),
        {"name": "Titanium", "rank": 5, "description": "Now first"},
    )
    assert rename.status_code == 302
    assert [level.name for level in MembershipLevel.objects.all()][0] == "Titanium"
    assert LogEntry.objects.filter(object_id=str(diamond.pk)).count() == 2


def test_levels_reorder_from_the_list(admin_client):
    levels = list(MembershipLevel.objects.all())
    data = {"form-TOTAL_FORMS": str(len(levels)), "form-INITIAL_FORMS": str(len(levels)), "_save": "Save"}
    new_ranks = {"Bronze": 4, "Silver": 3, "Gold": 2, "Platinum": 1}
    for i, level in enumerate(levels):
        data[f"form-{i}-id"] = level.pk
        data[f"form-{i}-rank"] = new_ranks[level.name]
    response = admin_client.post(reverse("admin:accounts_membershiplevel_changelist"), data)
    assert response.status_code == 302
    assert [level.name for level in MembershipLevel.objects.all()] == ["Platinum", "Gold", "Silver", "Bronze"]


def test_the_push_detail_page_has_no_inline_style_for_the_csp_to_block(admin_client, alice):
    link = ConversationLink.objects.create(conversation_id=uuid.uuid4(), user=alice, verified=True)
    push = AttributePush.objects.create(
        conversation=link, user=alice, version=1, attributes={"membershipLevel": "Gold"}
    )
    response = admin_client.get(reverse("admin:messaging_attributepush_change", args=[push.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "membershipLevel" in body
    assert "style=" not in body and "<style" not in body
    assert 'class="push-attributes"' in body
    assert "/static/css/admin-push." in body  # the rule that replaced the inline one, from our own origin
