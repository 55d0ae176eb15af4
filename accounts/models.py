import uuid

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone


class MembershipLevel(models.Model):
    """A tier of membership. Data, not code: admins add, rename and order levels in the admin."""

    name = models.CharField(max_length=64, unique=True)
    rank = models.PositiveSmallIntegerField(
        unique=True, help_text="Order of the levels; the lowest rank is the one new members get."
    )
    description = models.CharField(max_length=255, blank=True)

    # The name as last read or saved (from_db, signals.py); absent on a level never saved.
    _loaded_name: str

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # What members of this level send to Genesys; a rename re-pushes their open conversations (signals.py).
        instance._loaded_name = instance.name
        return instance

    @property
    def stored_name(self) -> str | None:
        """The name as last read from or written to the database (None for a level never saved)."""
        return getattr(self, "_loaded_name", None)


class MemberProfile(models.Model):
    """What the contact centre knows about a user: a stable public id and a membership level."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member_profile")
    # Sent to Genesys as memberId: stable, opaque, and not the database's sequential key.
    member_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    level = models.ForeignKey(MembershipLevel, on_delete=models.PROTECT, related_name="members", null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The level id as last read or saved (from_db, signals.py); absent on a profile never saved.
    _loaded_level_id: int | None
    # Set by services.save_member_profile for the save it makes: that change is recorded and re-pushed there, so
    # the safety net in signals.py leaves it alone.
    _level_change_attributed: bool

    class Meta:
        verbose_name = "member profile"

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.level or 'no level'})"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remembered so a save can tell whether the level changed (services.py records it; signals.py too for a
        # save no service made).
        instance._loaded_level_id = instance.level_id
        return instance

    @property
    def stored_level_id(self) -> int | None:
        """The level id as last read from or written to the database (the current one for an unsaved profile)."""
        return getattr(self, "_loaded_level_id", self.level_id)


class LevelChange(models.Model):
    """One change of a member's level: from what, to what, when, by whom and through which path.

    The level names are kept as they were at the time, so the history still reads right after a rename or a
    deletion of a level.
    """

    class Via(models.TextChoices):
        ADMIN_FORM = "admin_form", "admin: member form"
        BULK_ACTION = "bulk_action", "admin: bulk action"
        COMMAND = "command", "management command"
        OTHER = "other", "other"

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="level_changes")
    from_level = models.ForeignKey(MembershipLevel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    to_level = models.ForeignKey(MembershipLevel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    from_level_name = models.CharField(max_length=64, blank=True)
    to_level_name = models.CharField(max_length=64, blank=True)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=16, choices=Via.choices)

    class Meta:
        ordering = ["-changed_at", "-pk"]
        verbose_name = "level change"

    def __str__(self) -> str:
        return f"{self.from_level_name or 'none'} → {self.to_level_name or 'none'}"


class Member(User):
    """The site's users as the admin's "Members": the same rows as auth's User, shown with their membership (a
    proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "member"
        verbose_name_plural = "members"
