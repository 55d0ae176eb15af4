"""The data action's credentials rotate without downtime: every configured pair is accepted, and only those."""

import uuid

import pytest

from messaging.checks import missing_data_action_settings, weak_data_action_password_problem
from tests.data_action import basic, post

OLD = ("genesys-action", "old-password-0123456789abcdefghijklmnop")
NEW = ("genesys-action", "new-password-0123456789abcdefghijklmnop")


def status(client, pair) -> int:
    """The status of a verify call with these Basic credentials (a guest's: no token, no Genesys call)."""
    body = {"conversationId": str(uuid.uuid4()), "memberToken": ""}
    return post(client, body, auth=basic(username=pair[0], password=pair[1])).status_code


@pytest.mark.django_db
def test_during_a_rotation_both_pairs_are_accepted_and_nothing_else(client, settings):
    settings.GENESYS_DATA_ACTION_USERNAME = ""
    settings.GENESYS_DATA_ACTION_PASSWORD = ""
    settings.GENESYS_DATA_ACTION_CREDENTIALS = [list(NEW), list(OLD)]
    assert status(client, NEW) != 401 and status(client, OLD) != 401
    # A stranger mixing the parts of two pairs, or a pair's parts swapped, is no pair.
    mixed = (NEW[0], OLD[1][:-1] + "x")
    assert status(client, mixed) == 401 and status(client, (OLD[1], OLD[0])) == 401
    assert missing_data_action_settings() == [] and weak_data_action_password_problem() is None


@pytest.mark.django_db
def test_after_the_rotation_the_old_pair_is_refused(client, settings):
    settings.GENESYS_DATA_ACTION_USERNAME, settings.GENESYS_DATA_ACTION_PASSWORD = NEW
    settings.GENESYS_DATA_ACTION_CREDENTIALS = []
    assert status(client, NEW) != 401 and status(client, OLD) == 401


@pytest.mark.django_db
def test_a_malformed_or_empty_pair_is_never_accepted(client, settings):
    settings.GENESYS_DATA_ACTION_USERNAME = ""
    settings.GENESYS_DATA_ACTION_PASSWORD = ""
    settings.GENESYS_DATA_ACTION_CREDENTIALS = [["", ""], ["only-a-user"], "user:password", [NEW[0], ""]]
    assert status(client, ("", "")) == 401 and status(client, (NEW[0], "")) == 401
    assert missing_data_action_settings()  # nothing usable is configured


def test_a_weak_password_in_any_pair_is_reported_without_its_value(settings):
    settings.GENESYS_DATA_ACTION_CREDENTIALS = [list(NEW), ["genesys-action", "short"]]
    problem = weak_data_action_password_problem()
    assert problem and "short" not in problem
