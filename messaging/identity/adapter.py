"""How messaging learns who a member is, without knowing the site's user or membership models.

A site tells messaging about its members through an adapter (as django-allauth's ACCOUNT_ADAPTER):
GENESYS_MEMBER_ADAPTER names a MemberAdapter subclass by dotted path. The default works with Django's plain
User: the public id comes from a messaging-owned MemberIdentity row (made on first use), the level is "".

The contract (override what the site knows better):
  member_for_user(user) -> Member | None        the member a user is (None: not a member)
  member_for_public_id(public_id) -> Member | None   the active member with that public id
  member_attributes(member) -> dict[str, str]  extra custom attributes for this member (beside memberId,
                                              membershipLevel and GENESYS_ATTRIBUTE_MAPPING); {} by default
  member_profile(member) -> MemberProfile      what the agents' member card shows beside the level: name, the
                                              level's description, member since, the last level changes
  user_relations: tuple[str, ...]              select_related paths from the user that member_for_user
                                              reads, so messaging loads them with the user in one query
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from ..app_settings import app_settings
from ..models import MemberIdentity


@dataclasses.dataclass(frozen=True)
class Member:
    """A member as messaging sees one. public_id: a UUID in canonical text (sent to Genesys as memberId and
    signed into member tokens; never the database key). user: the site's user object, for the attribute
    mapping."""

    user_id: int
    public_id: str
    level: str
    is_active: bool
    user: Any = dataclasses.field(compare=False, repr=False)


@dataclasses.dataclass(frozen=True)
class LevelChangeFact:
    from_level: str
    to_level: str
    changed_at: datetime.datetime


@dataclasses.dataclass(frozen=True)
class MemberProfile:
    """What the member card shows of a member beside the public id and the level (read fresh, never cached)."""

    name: str
    level_description: str = ""
    member_since: datetime.datetime | None = None
    level_changes: tuple[LevelChangeFact, ...] = ()


class MemberAdapter:
    """The contract; subclasses must implement member_for_user and member_for_public_id."""

    user_relations: tuple[str, ...] = ()

    def member_for_user(self, user: Any) -> Member | None:
        raise NotImplementedError

    def member_for_public_id(self, public_id: str) -> Member | None:
        raise NotImplementedError

    def member_attributes(self, member: Member) -> dict[str, str]:
        return {}

    def member_profile(self, member: Member) -> MemberProfile:
        """The user's full name (or username) and date joined; a site with levels adds their description and
        history."""
        user = member.user
        return MemberProfile(
            name=user.get_full_name() or user.get_username(), member_since=getattr(user, "date_joined", None)
        )


def _parse_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


class DefaultMemberAdapter(MemberAdapter):
    """Every signed-in user is a member; level "" (a site with levels writes its own adapter)."""

    user_relations = ("messaging_identity",)

    def member_for_user(self, user: Any) -> Member | None:
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        return Member(
            user_id=user.pk,
            public_id=str(self._identity(user).public_id),
            level="",
            is_active=bool(getattr(user, "is_active", True)),
            user=user,
        )

    def member_for_public_id(self, public_id: str) -> Member | None:
        parsed = _parse_uuid(public_id)
        if parsed is None:
            return None
        identity = MemberIdentity.objects.select_related("user").filter(public_id=parsed).first()
        if identity is None:
            return None
        member = self.member_for_user(identity.user)
        return member if member is not None and member.is_active else None

    @staticmethod
    def _identity(user: Any) -> MemberIdentity:
        """The user's MemberIdentity, made on first use (a concurrent first use is answered by the winner's)."""
        try:
            return user.messaging_identity
        except MemberIdentity.DoesNotExist:
            pass
        try:
            with transaction.atomic():
                identity = MemberIdentity.objects.create(user=user)
        except IntegrityError:
            identity = MemberIdentity.objects.get(user=user)
        return identity


@functools.cache
def _adapter_for(path: str) -> MemberAdapter:
    adapter = import_string(path)()
    if not isinstance(adapter, MemberAdapter):
        raise TypeError(f"GENESYS_MEMBER_ADAPTER {path!r} is not a messaging.identity.adapter.MemberAdapter")
    return adapter


def get_member_adapter() -> MemberAdapter:
    """The adapter GENESYS_MEMBER_ADAPTER names (one instance per path)."""
    return _adapter_for(app_settings.MEMBER_ADAPTER)


def active_member_for_user_id(user_id: int) -> Member | None:
    """The member a user is, read fresh from the database, if active; None otherwise."""
    adapter = get_member_adapter()
    user = get_user_model()._default_manager.select_related(*adapter.user_relations).filter(pk=user_id).first()
    member = adapter.member_for_user(user) if user is not None else None
    return member if member is not None and member.is_active else None
