"""Messenger on this site's pages, through its MembershipMemberAdapter (accounts/adapter.py): what the messaging
app's own tests (tests/messaging/, on messaging's default adapter) cannot show of this site."""

import json
import re

import pytest

from accounts.management.commands.seed_demo import DEMO_PASSWORD
from accounts.services import move_members_to_level
from tests.page_queries import home_page_queries

pytestmark = pytest.mark.django_db
DATA_RE = re.compile(r'<script id="genesys-messenger-data" type="application/json">(.*?)</script>', re.S)


def page_attributes(response) -> dict[str, str]:
    return json.loads(DATA_RE.search(response.content.decode()).group(1))["attributes"]


def test_the_tag_adds_no_query_to_the_home_page(client, alice, settings):
    # The adapter reads the member profile the page has loaded already.
    client.login(username="alice", password=DEMO_PASSWORD)
    without, with_messenger = home_page_queries(client, settings)
    assert with_messenger == without


def test_the_members_level_and_a_level_changed_by_an_admin_show_on_the_next_page(client, alice, levels, settings):
    settings.GENESYS_DEPLOYMENT_ID = "11111111-2222-4333-8444-555555555555"
    client.login(username="alice", password=DEMO_PASSWORD)
    attributes = page_attributes(client.get("/"))
    assert attributes["membershipLevel"] == "Gold" and attributes["memberId"] == str(alice.member_profile.member_id)
    move_members_to_level(users=[alice], level=levels["Platinum"])
    assert page_attributes(client.get("/"))["membershipLevel"] == "Platinum"
