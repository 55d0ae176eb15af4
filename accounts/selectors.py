"""Reads about members and levels."""

from django.contrib.auth.models import AnonymousUser, User

from .models import MemberProfile, MembershipLevel


def default_level() -> MembershipLevel | None:
    """The level a new member gets: the lowest rank, or None while no level exists."""
    return MembershipLevel.objects.order_by("rank").first()


def member_profile_for(user: User | AnonymousUser) -> MemberProfile | None:
    """The signed-in user's profile with its level, or None for an anonymous visitor."""
    if not user.is_authenticated:
        return None
    profile = MemberProfile.objects.select_related("level").filter(user=user).first()
    if profile is not None:
        # Remembered on the user, so Messenger on the same page (messaging, through the adapter) reads it too.
        user.member_profile = profile
    return profile
