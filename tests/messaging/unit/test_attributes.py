"""The member token (messaging/identity/member_token.py), the attribute set and its byte budget
(messaging/attributes.py): pure, no database."""

import logging
import uuid
from types import SimpleNamespace

import pytest
from django.core import signing
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from messaging.attributes import (
    REQUIRED_MEMBER_KEYS,
    AttributeBudgetExceeded,
    anonymous_attributes,
    attributes_size,
    configuration_problems,
    fit_to_budget,
    mapped_attributes,
    member_attribute_keys,
    member_attributes,
    page_attributes,
)
from messaging.identity import member_token as attrs_mod
from messaging.identity.adapter import Member
from messaging.identity.member_token import (
    InvalidMemberToken,
    MemberTokenClaims,
    make_member_token,
    read_member_token,
    read_member_token_claims,
)

GRANT = "g" * 16  # a grant id as messaging.identity.grants makes them (checked against the database elsewhere)


def token_for(profile) -> str:
    return make_member_token(profile.public_id, GRANT)


def fake_profile(*, level: str | None = "Gold", first: str = "Alice", last: str = "Anders", email: str = "a@x.org"):
    user = SimpleNamespace(
        first_name=first,
        last_name=last,
        email=email,
        get_full_name=lambda: f"{first} {last}".strip(),
        get_username=lambda: "alice",
    )
    return FakeMember(user_id=1, public_id=str(uuid.uuid4()), level=level or "", is_active=True, user=user)


class FakeMember(Member):
    """A Member whose public id the tests read back as the UUID a token carries."""

    @property
    def member_id(self) -> uuid.UUID:
        return uuid.UUID(self.public_id)


# --- The member token ---


def test_token_round_trips_to_the_member_id_and_is_short():
    profile = fake_profile()
    token = token_for(profile)
    assert read_member_token(token) == profile.member_id
    assert len(token.encode()) <= 100  # counts against the 2048-byte budget
    assert len(token.encode()) == attrs_mod.member_token_size()
    assert profile.public_id not in token  # compact form, not the 36-character text


def test_token_cannot_be_moved_to_another_member():
    alice, bob = fake_profile(), fake_profile()
    alice_token, bob_token = token_for(alice), token_for(bob)
    # Bob's id with Alice's timestamp and signature.
    moved = bob_token.split(":")[0] + ":" + alice_token.split(":", 1)[1]
    with pytest.raises(InvalidMemberToken) as caught:
        read_member_token(moved)
    assert caught.value.reason == "bad_signature"


def test_token_names_its_grant_and_every_token_is_distinct():
    profile = fake_profile()
    first, second = token_for(profile), token_for(profile)
    # Same member, grant and second: the nonce still tells them apart, so spending one spends no other.
    assert first != second
    assert read_member_token_claims(first) == MemberTokenClaims(profile.member_id, GRANT)


def test_token_cannot_be_moved_to_another_grant():
    payload, signed = token_for(fake_profile()).split(":", 1)
    member, _grant, nonce = payload.split(".")
    with pytest.raises(InvalidMemberToken) as caught:
        read_member_token(f"{member}.{'h' * 16}.{nonce}:{signed}")
    assert caught.value.reason == "bad_signature"


def test_token_with_a_flipped_signature_character_is_refused():
    token = token_for(fake_profile())
    last = "A" if token[-1] != "A" else "B"
    with pytest.raises(InvalidMemberToken) as caught:
        read_member_token(token[:-1] + last)
    assert caught.value.reason == "bad_signature"


def test_token_signed_with_another_salt_or_key_is_refused(settings):
    profile = fake_profile()
    value = token_for(profile).split(":")[0]  # the payload of a real token
    other_salt = signing.TimestampSigner(salt="something-else").sign(value)
    with pytest.raises(InvalidMemberToken) as caught:
        read_member_token(other_salt)
    assert caught.value.reason == "bad_signature"
    token = token_for(profile)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    with pytest.raises(InvalidMemberToken) as caught:
        read_member_token(token)
    assert caught.value.reason == "bad_signature"


def test_token_expires_after_the_configured_age(settings, monkeypatch):
    settings.GENESYS_MEMBER_TOKEN_MAX_AGE = 600
    profile = fake_profile()
    now = 1_800_000_000.0
    monkeypatch.setattr(signing.time, "time", lambda: now)
    token = token_for(profile)
    monkeypatch.setattr(signing.time, "time", lambda: now + 599)
    assert read_member_token(token) == profile.member_id
    monkeypatch.setattr(signing.time, "time", lambda: now + 601)
    with pytest.raises(InvalidMemberToken) as caught:
        read_member_token(token)
    assert caught.value.reason == "expired"
    assert read_member_token(token, max_age=3600) == profile.member_id  # the caller may choose


def test_default_expiry_is_thirty_minutes():
    from messaging.app_settings import app_settings

    assert app_settings.MEMBER_TOKEN_MAX_AGE == 30 * 60


@pytest.mark.parametrize(
    "token",
    [None, "", 12, b"bytes", "abc", "a:b:c", "x" * 5000, "not base64!!!!!!!!!!!!:1xW7Yj:" + "A" * 43, ["list"]],
)
def test_malformed_tokens_are_refused_as_malformed(token):
    with pytest.raises(InvalidMemberToken) as caught:
        read_member_token(token)
    assert caught.value.reason == "malformed"
    assert "malformed" in str(caught.value)


def test_invalid_token_error_is_a_value_error_and_never_echoes_the_token():
    token = token_for(fake_profile())
    with pytest.raises(ValueError) as caught:
        read_member_token(token[:-2] + "zz")
    assert token not in str(caught.value)


# --- Sizes and the budget ---


def test_size_counts_utf8_bytes_of_keys_and_values():
    assert attributes_size({}) == 0
    assert attributes_size({"ab": "cd"}) == 4
    assert attributes_size({"name": "Zoë"}) == 4 + 4
    assert attributes_size({"n": "🙂"}) == 1 + 4


def test_fit_keeps_everything_within_budget():
    data = {"isAuthenticated": "true", "displayName": "Alice"}
    assert fit_to_budget(data, 2048, ["isAuthenticated"]) == data


def test_fit_drops_optional_fields_longest_first_with_a_warning(caplog):
    data = {"req": "r" * 10, "short": "s", "medium": "m" * 20, "long": "l" * 50}
    budget = attributes_size(data) - 30  # dropping "long" (54 bytes) is enough
    with caplog.at_level(logging.WARNING, logger="messaging.attributes"):
        fitted = fit_to_budget(data, budget, ["req"])
    assert fitted == {"req": "r" * 10, "short": "s", "medium": "m" * 20}
    assert "long" in caplog.text and "l" * 50 not in caplog.text  # names, never values
    fitted = fit_to_budget(data, attributes_size({"req": "r" * 10, "short": "s"}), ["req"])
    assert fitted == {"req": "r" * 10, "short": "s"}


def test_fit_never_drops_required_keys_and_fails_when_they_cannot_fit():
    data = {"req": "r" * 100, "opt": "o"}
    assert fit_to_budget(data, 103, ["req"]) == {"req": "r" * 100}
    with pytest.raises(AttributeBudgetExceeded):
        fit_to_budget(data, 50, ["req"])


@hsettings(max_examples=200, deadline=None)
@given(
    optional=st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=200), max_size=12),
    budget=st.integers(min_value=63, max_value=3000),
)
def test_fit_property_within_budget_required_kept_subset(optional, budget):
    required = {"isAuthenticated": "true", "memberId": "m" * 36}
    data = {**optional, **required}
    fitted = fit_to_budget(data, budget, required)
    assert attributes_size(fitted) <= budget
    assert all(fitted[key] == value for key, value in required.items())
    assert fitted.items() <= data.items()
    # Nothing dropped needlessly: putting back the shortest dropped key would overflow.
    dropped = [key for key in data if key not in fitted]
    if dropped:
        shortest = min(attributes_size({key: data[key]}) for key in dropped)
        assert attributes_size(fitted) + shortest > budget


# --- The attribute sets ---


def test_anonymous_attributes_say_only_that():
    assert anonymous_attributes() == {"isAuthenticated": "false"}


def test_page_attributes_of_a_member_are_all_strings_with_the_required_keys():
    profile = fake_profile()
    attrs = page_attributes(profile, token_for(profile))
    assert attrs["isAuthenticated"] == "true"
    assert attrs["memberId"] == profile.public_id
    assert attrs["membershipLevel"] == "Gold"
    assert read_member_token(attrs["memberToken"]) == profile.member_id
    assert attrs["displayName"] == "Alice Anders" and attrs["email"] == "a@x.org"
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in attrs.items())


def test_member_attributes_are_the_page_attributes_without_the_token():
    profile = fake_profile()
    page = page_attributes(profile, token_for(profile))
    server = member_attributes(profile)
    assert "memberToken" not in server
    assert server == {key: value for key, value in page.items() if key != "memberToken"}


def test_member_without_level_or_name_sends_empty_level_and_no_empty_fields():
    profile = fake_profile(level=None, first="", last="", email="")
    attrs = page_attributes(profile, token_for(profile))
    assert attrs["membershipLevel"] == ""
    assert "displayName" not in attrs and "email" not in attrs


def test_mapping_follows_dotted_paths_and_calls_callables(settings):
    profile = fake_profile()
    profile.user.member_profile = SimpleNamespace(level=SimpleNamespace(description="Top tier"))
    mapping = {"name": "get_full_name", "tier": "member_profile.level.description", "missing": "nope.nothing"}
    assert mapped_attributes(profile.user, mapping) == {"name": "Alice Anders", "tier": "Top tier"}
    settings.GENESYS_ATTRIBUTE_MAPPING = {"username": "get_username", "memberId": "email"}
    attrs = page_attributes(profile, token_for(profile))
    assert attrs["username"] == "alice"
    assert attrs["memberId"] == profile.public_id  # a mapping never overrides the integration's keys


def test_over_budget_drops_mapped_fields_but_keeps_the_required_ones(settings, caplog):
    settings.GENESYS_MAX_CUSTOM_DATA_BYTES = 400
    profile = fake_profile(first="N" * 150, last="", email="e" * 100 + "@example.com")
    with caplog.at_level(logging.WARNING, logger="messaging.attributes"):
        attrs = page_attributes(profile, token_for(profile))
    assert set(REQUIRED_MEMBER_KEYS) <= set(attrs)
    assert "displayName" not in attrs and "email" in attrs  # the longest goes first
    assert attributes_size(attrs) <= 400
    assert "displayName" in caplog.text
    assert member_attributes(profile).keys() == attrs.keys() - {"memberToken"}


def test_member_attribute_keys_list_what_an_anonymous_page_removes(settings):
    settings.GENESYS_ATTRIBUTE_MAPPING = {"displayName": "get_full_name", "isAuthenticated": "email"}
    assert member_attribute_keys() == ["memberId", "membershipLevel", "memberToken", "displayName"]


# --- Configuration check ---


def test_default_configuration_has_no_problems():
    assert configuration_problems({"displayName": "get_full_name", "email": "email"}, 2048) == []


def test_budget_that_cannot_hold_the_required_attributes_is_a_problem():
    problems = configuration_problems({}, 200)
    assert len(problems) == 1
    assert "GENESYS_MAX_CUSTOM_DATA_BYTES is 200 bytes" in problems[0] and "at least" in problems[0]


@pytest.mark.parametrize(
    "mapping, words",
    [
        ({"memberToken": "email"}, "may not set 'memberToken'"),
        ({"verified": "email"}, "may not set 'verified'"),
        ({"hash": "password"}, "private or password"),
        ({"x": "_state.db"}, "private or password"),
        ({"": "email"}, "non-empty strings"),
        ({"x": 3}, "non-empty strings"),
        (["email"], "must map attribute names"),
    ],
)
def test_bad_mappings_are_problems(mapping, words):
    problems = configuration_problems(mapping, 2048)
    assert any(words in problem for problem in problems), problems


@pytest.mark.parametrize("budget", [0, -1, "2048", True])
def test_budget_must_be_a_positive_integer(budget):
    assert any("positive integer" in problem for problem in configuration_problems({}, budget))
