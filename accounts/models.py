import uuid

from django.conf import settings
from django.db import models


class MembershipLevel(models.Model):
    """A tier of membership. Data, not code: admins add, rename and order levels in the admin."""

    name = models.CharField(max_length=64, unique=True)
    rank = models.PositiveSmallIntegerField(
        unique=True, help_text="Order of the levels; the lowest rank is the one new members get."
    )
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name


class MemberProfile(models.Model):
    """What the contact centre knows about a user: a stable public id and a membership level."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member_profile")
    # Sent to Genesys as memberId: stable, opaque, and not the database's sequential key.
    member_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    level = models.ForeignKey(MembershipLevel, on_delete=models.PROTECT, related_name="members", null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "member profile"

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.level or 'no level'})"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remembered so a save can tell whether the level changed (signals.py announces it).
        instance._loaded_level_id = instance.level_id
        return instance
