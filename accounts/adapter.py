"""How messaging sees this site's members (GENESYS_MEMBER_ADAPTER in config/settings.py): the public id is
MemberProfile.member_id, the level its name, and only active users are members."""

from typing import Any

from django.core.exceptions import ValidationError

from messaging.identity.adapter import LevelChangeFact, Member, MemberAdapter
from messaging.identity.adapter import MemberProfile as CardProfile

from .models import LevelChange, MemberProfile

# How many of a member's level changes the agents' member card lists.
CARD_LEVEL_CHANGES = 5


class MembershipMemberAdapter(MemberAdapter):
    # Loaded with the user by messaging's token check, so verifying a token stays one query.
    user_relations = ("member_profile__level",)

    def member_for_user(self, user: Any) -> Member | None:
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        if user.__class__.member_profile.is_cached(user):  # __class__: request.user is a lazy object
            profile = user.member_profile
        else:
            profile = MemberProfile.objects.select_related("level").filter(user=user).first()
            if profile is None:
                return None
            user.member_profile = profile  # remembered on the user: the page reads it more than once
        return self._member(profile, user)

    def member_for_public_id(self, public_id: str) -> Member | None:
        try:
            profile = (
                MemberProfile.objects.select_related("level", "user")
                .filter(member_id=public_id, user__is_active=True)
                .first()
            )
        except ValidationError:  # not a UUID
            return None
        return self._member(profile, profile.user) if profile is not None else None

    def member_profile(self, member: Member) -> CardProfile:
        """The member card's facts, read now: the level's description and the last level changes."""
        base = super().member_profile(member)
        profile = MemberProfile.objects.select_related("level").filter(user_id=member.user_id).first()
        changes = LevelChange.objects.filter(member_id=member.user_id)[:CARD_LEVEL_CHANGES]
        return CardProfile(
            name=base.name,
            level_description=profile.level.description if profile is not None and profile.level else "",
            member_since=base.member_since,
            level_changes=tuple(LevelChangeFact(c.from_level_name, c.to_level_name, c.changed_at) for c in changes),
        )

    @staticmethod
    def _member(profile: MemberProfile | None, user: Any) -> Member | None:
        if profile is None:
            return None
        return Member(
            user_id=user.pk,
            public_id=str(profile.member_id),
            level=profile.level.name if profile.level is not None else "",
            is_active=user.is_active,
            user=user,
        )
