"""Every change of a member's level is recorded (accounts.models.LevelChange) whichever path made it, and the
member's admin page shows the history, newest first, read-only."""

import io

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import LevelChange, MemberProfile
from accounts.services import change_member_level

pytestmark = pytest.mark.django_db
Via = LevelChange.Via


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "x-Admin-2026")


@pytest.fixture
def admin_client(client, root):
    client.force_login(root)
    return client


def history(user) -> list[tuple[str, str, str, str | None]]:
    """The member's level changes, newest first: (from, to, via, by)."""
    return [
        (c.from_level_name, c.to_level_name, c.via, c.changed_by.username if c.changed_by else None)
        for c in LevelChange.objects.filter(member=user)
    ]


def admin_form_data(page) -> dict:
    """What the browser would post back from the member's admin page as rendered, formsets included."""
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    for key in ("groups", "user_permissions", "last_login"):
        data.pop(key, None)
    data.update({"date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "is_active": "on"})
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()})
        for i, subform in enumerate(formset.forms):
            data[f"{formset.prefix}-{i}-id"] = subform.instance.pk
            for name, value in subform.initial.items():
                data[f"{formset.prefix}-{i}-{name}"] = getattr(value, "pk", value)
    return data


def test_the_admin_form_records_the_change_under_the_admin(admin_client, root, alice, levels):
    url = reverse("admin:accounts_member_change", args=[alice.pk])
    data = admin_form_data(admin_client.get(url))
    data["level"] = levels["Silver"].pk
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert history(alice)[0] == ("Gold", "Silver", Via.ADMIN_FORM, "root")
    assert LevelChange.objects.filter(member=alice).count() == 2  # the fixture's own move to Gold, then this
    # The admin's own history is kept too.
    assert (
        "membership level"
        in LogEntry.objects.filter(object_id=str(alice.pk)).latest("action_time").get_change_message().lower()
    )


def test_the_admin_form_saved_without_a_level_change_records_nothing(admin_client, alice):
    url = reverse("admin:accounts_member_change", args=[alice.pk])
    before = history(alice)
    data = admin_form_data(admin_client.get(url))
    data["first_name"] = "Alicia"
    assert admin_client.post(url, data).status_code == 302
    assert history(alice) == before


def test_the_bulk_action_records_each_change_under_the_admin(admin_client, alice, bob, levels):
    admin_client.post(
        reverse("admin:accounts_member_changelist"),
        {
            "action": "move_to_level",
            "level": levels["Silver"].pk,
            "_selected_action": [alice.pk, bob.pk],
            "post": "yes",
        },
    )
    assert history(alice)[0] == ("Gold", "Silver", Via.BULK_ACTION, "root")
    assert history(bob)[0] == ("Bronze", "Silver", Via.OTHER, None)  # bob was already Silver: nothing new


def test_the_command_records_the_change(alice, root, levels):
    out = io.StringIO()
    call_command("set_member_level", "alice", "platinum", "--by", "root", stdout=out)
    assert "alice: Gold -> Platinum." in out.getvalue()
    assert history(alice)[0] == ("Gold", "Platinum", Via.COMMAND, "root")
    call_command("set_member_level", "alice", "Platinum", stdout=out)
    assert "already Platinum" in out.getvalue()
    assert len(history(alice)) == 2


@pytest.mark.parametrize(
    ("args", "message"), [(["nobody", "Gold"], "No user named"), (["alice", "Iron"], "No level named")]
)
def test_the_command_refuses_an_unknown_member_or_level(alice, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("set_member_level", *args, stdout=io.StringIO())


def test_seed_demo_records_the_levels_it_gives(db):
    call_command("seed_demo", stdout=io.StringIO())
    alice = get_user_model().objects.get(username="alice")
    assert history(alice) == [("Bronze", "Gold", Via.COMMAND, None)]
    call_command("seed_demo", stdout=io.StringIO())
    assert len(history(alice)) == 1


def test_a_plain_save_that_changes_the_level_is_recorded_as_other(alice, levels):
    profile = MemberProfile.objects.get(user=alice)
    profile.level = levels["Bronze"]
    profile.save()
    assert history(alice)[0] == ("Gold", "Bronze", Via.OTHER, None)
    profile.save()  # no change, no row
    assert len(history(alice)) == 2


def test_a_service_change_is_recorded_once(alice, levels):
    profile = MemberProfile.objects.get(user=alice)
    change_member_level(profile=profile, level=levels["Silver"], via=Via.COMMAND)
    assert history(alice)[:2] == [("Gold", "Silver", Via.COMMAND, None), ("Bronze", "Gold", Via.OTHER, None)]


def test_history_keeps_the_names_of_the_time(alice, levels):
    levels["Gold"].name = "Golden"
    levels["Gold"].save()
    assert history(alice)[0] == ("Bronze", "Gold", Via.OTHER, None)


def test_the_admin_page_shows_the_history_newest_first_read_only(admin_client, alice, levels):
    profile = MemberProfile.objects.get(user=alice)
    change_member_level(profile=profile, level=levels["Silver"], via=Via.COMMAND)
    change_member_level(profile=profile, level=levels["Platinum"], via=Via.COMMAND)
    page = admin_client.get(reverse("admin:accounts_member_change", args=[alice.pk]))
    (inline,) = [i for i in page.context["inline_admin_formsets"] if i.formset.model is LevelChange]
    rows = [(form.instance.from_level_name, form.instance.to_level_name) for form in inline.formset.forms]
    assert rows == [("Silver", "Platinum"), ("Gold", "Silver"), ("Bronze", "Gold")]
    assert not inline.has_add_permission and not inline.has_change_permission and not inline.has_delete_permission
    body = page.content.decode()
    assert "Level history" in body or "level history" in body
    assert body.index("Platinum</") < body.index("management command")
