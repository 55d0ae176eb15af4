import re
import uuid

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.urls import reverse, reverse_lazy
from django.utils import timezone

from accounts.models import MembershipLevel
from messaging.models import AttributePush, ConversationLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, levels):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x-Admin-2026")
    client.force_login(admin)
    client.admin_user = admin
    return client


MEMBERS = reverse_lazy("admin:accounts_member_changelist")


def test_members_are_under_members_with_name_email_level_and_dates(admin_client, alice, bob):
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert f'href="{MEMBERS}"' in index
    body = admin_client.get(MEMBERS).content.decode()
    for text in [
        "Alice Anders",
        "alice@example.com",
        "Gold",
        "Bob Berg",
        "Silver",
        "Member since",
        "Level changed",
    ]:
        assert text in body
    gold = MembershipLevel.objects.get(name="Gold")
    filtered = admin_client.get(MEMBERS, {"member_profile__level__id__exact": gold.pk}).content.decode()
    assert "alice@example.com" in filtered and "bob@example.com" not in filtered
    searched = admin_client.get(MEMBERS, {"q": "Silver"}).content.decode()
    assert "bob@example.com" in searched and "alice@example.com" not in searched


def _link(user, state=ConversationLink.State.OPEN) -> ConversationLink:
    return ConversationLink.objects.create(
        conversation_id=uuid.uuid4(), user=user, verified=True, state=state, last_verified_at=timezone.now()
    )


def test_bulk_action_asks_first_and_says_how_many_move_and_how_many_conversations_get_a_push(
    admin_client, alice, bob, make_member
):
    carol = make_member("carol", "Platinum")
    _link(alice)
    _link(alice)
    _link(bob)
    _link(bob, state=ConversationLink.State.CLOSED)
    _link(carol)  # already Platinum: her conversation is not pushed
    platinum = MembershipLevel.objects.get(name="Platinum")
    chosen = {"action": "move_to_level", "level": platinum.pk, "_selected_action": [alice.pk, bob.pk, carol.pk]}
    confirm = admin_client.post(MEMBERS, chosen)
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert "2 members move to Platinum." in body
    assert "3 open conversations get a new push to Genesys with the new level." in body
    assert "1 selected member is already at Platinum" in body
    assert 'name="post" value="yes"' in body and "Yes, move them" in body
    # Nothing moved yet, nothing recorded.
    for user, level in [(alice, "Gold"), (bob, "Silver")]:
        user.member_profile.refresh_from_db()
        assert user.member_profile.level.name == level
    assert not LogEntry.objects.exists()
    assert not AttributePush.objects.exists()

    done = admin_client.post(MEMBERS, {**chosen, "post": "yes"}, follow=True)
    assert "Moved 2 members to Platinum; 3 open conversations get a new push." in done.content.decode()
    for user in (alice, bob, carol):
        user.member_profile.refresh_from_db()
        assert user.member_profile.level.name == "Platinum"
    history = LogEntry.objects.filter(user=admin_client.admin_user).order_by("object_id")
    assert [(e.object_repr, e.get_change_message()) for e in history] == [
        ("alice", "Changed membership level from Gold to Platinum."),
        ("bob", "Changed membership level from Silver to Platinum."),
    ]


def test_a_forged_confirmation_without_a_level_changes_nothing(admin_client, alice):
    for level in ["", "999999", "not-a-number"]:
        response = admin_client.post(
            MEMBERS,
            {"action": "move_to_level", "level": level, "_selected_action": [alice.pk], "post": "yes"},
            follow=True,
        )
        assert response.status_code == 200
        # An empty level is the action's to refuse; a level that does not exist, the action form's.
        assert level != "" or "Choose a level" in response.content.decode()
    alice.member_profile.refresh_from_db()
    assert alice.member_profile.level.name == "Gold"


def test_the_level_is_at_the_top_of_the_member_page_and_saved_as_a_recorded_change(admin_client, alice):
    url = reverse("admin:accounts_member_change", args=[alice.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index('name="level"') < body.index('name="first_name"') < body.index("Level history")
    assert "user_permissions" not in body and "groups" not in body  # permissions stay on auth's Users page
    data = {
        "username": "alice",
        "first_name": "Alice",
        "last_name": "Anders",
        "email": "alice@example.com",
        "is_active": "on",
        "level": MembershipLevel.objects.get(name="Silver").pk,
        "level_changes-TOTAL_FORMS": "0",
        "level_changes-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    alice.member_profile.refresh_from_db()
    assert alice.member_profile.level.name == "Silver"
    change = alice.level_changes.latest("changed_at", "pk")
    assert (change.from_level_name, change.to_level_name, change.changed_by) == (
        "Gold",
        "Silver",
        admin_client.admin_user,
    )


def test_levels_list_their_member_counts(admin_client, alice, bob, make_member):
    make_member("carol", "Gold")
    body = admin_client.get(reverse("admin:accounts_membershiplevel_changelist")).content.decode()
    counts = dict(re.findall(r'<a href="[^"]+">(\w+)</a></th>.*?<td class="field-member_count">(\d+)</td>', body, re.S))
    # The superuser is no member (no profile, so no level): Bronze counts nobody.
    assert counts == {"Bronze": "0", "Silver": "1", "Gold": "2", "Platinum": "0"}


def test_renaming_a_level_says_how_many_conversations_it_re_pushes(admin_client, alice, bob):
    _link(alice)
    _link(alice)
    _link(bob)
    gold = MembershipLevel.objects.get(name="Gold")
    response = admin_client.post(
        reverse("admin:accounts_membershiplevel_change", args=[gold.pk]),
        {"name": "Golden", "rank": gold.rank, "description": gold.description},
        follow=True,
    )
    assert "Renamed Gold to Golden: 2 open conversations of its members get a new push." in response.content.decode()
    other = admin_client.post(
        reverse("admin:accounts_membershiplevel_change", args=[gold.pk]),
        {"name": "Golden", "rank": gold.rank, "description": "New words"},
        follow=True,
    )
    assert "Renamed" not in other.content.decode()


def test_pushes_read_as_pushes(admin_client, alice):
    link = _link(alice)
    push = AttributePush.objects.create(conversation=link, user=alice, version=3, state="delivered")
    assert str(push) == f"Version 3 for conversation {link.conversation_id} (delivered)"
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert "Attribute pushes" in index and "pushs" not in index
    change = admin_client.get(reverse("admin:messaging_attributepush_change", args=[push.pk])).content.decode()
    assert f"Version 3 for conversation {link.conversation_id}" in change
    listing = admin_client.get(reverse("admin:messaging_attributepush_changelist")).content.decode()
    assert f'<code class="conversation-id">{link.conversation_id}</code>' in listing


def test_every_admin_and_site_title_follows_one_pattern(admin_client, client, alice):
    for page in [admin_client.get(reverse("admin:index")), admin_client.get(MEMBERS), client.get("/")]:
        title = re.search(r"<title>(.*?)</title>", page.content.decode(), re.S).group(1).strip()
        assert title.endswith(" · Member Messaging") and "|" not in title, title


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
    assert "/static/messaging/admin-push." in body  # the rule that replaced the inline one, from our own origin


def test_the_push_pages_answer_under_manifest_static_storage(admin_client, alice, tmp_path, settings):
    """A host site collecting static files with Django's ManifestStaticFilesStorage (a file missing from the
    manifest is a 500) gets every messaging admin page: each file they link is the app's own, collected from
    messaging/static/messaging/ under a hashed name (this site's static/ no longer holds any of them)."""
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    link = _link(alice)
    push = AttributePush.objects.create(conversation=link, user=alice, version=1, attributes={"a": "b"})

    for url in (
        reverse("admin:messaging_attributepush_changelist"),
        reverse("admin:messaging_attributepush_change", args=[push.pk]),
        reverse("admin:messaging_conversationlink_changelist"),
        reverse("admin:messaging_conversationlink_change", args=[link.pk]),
        reverse("messaging-health"),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    listing = admin_client.get(reverse("admin:messaging_attributepush_changelist")).content.decode()
    hashed = re.search(r"/static/(messaging/admin-push\.[0-9a-f]{12}\.css)", listing)
    assert hashed and (settings.STATIC_ROOT / hashed.group(1)).is_file()
