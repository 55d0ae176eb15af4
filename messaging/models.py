"""Conversations linked to members, and the outbox of attribute pushes to Genesys.

The outbox row is the truth about a push, not the task queue: a worker that dies mid-way leaves a row that the
sweep finds again (outbox/sweep.py). Deliveries of one conversation are serialised by a lease on its
ConversationLink, so an older version can never land after a newer one.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class PushState(models.TextChoices):
    """The state of an AttributePush (AttributePush.State is this class).

    pending -> delivering -> delivered
                         \\-> pending (retryable failure, next_attempt_at = backoff)
                         \\-> failed (not retryable, or out of attempts; "Retry now" -> pending)
    pending/delivering/failed -> superseded (a newer version of the same conversation exists)
    delivered -> pending (a repeat verify re-asserts the same version: one PATCH)
    """

    PENDING = "pending", "pending"
    DELIVERING = "delivering", "delivering"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed"
    SUPERSEDED = "superseded", "superseded"


class ConversationLink(models.Model):
    """A Genesys conversation the data action asked us to verify, and the member it was verified for."""

    class State(models.TextChoices):
        OPEN = "open", "open"
        CLOSED = "closed", "closed"

    conversation_id = models.UUIDField(unique=True)
    # Null when the latest verification failed (bad, expired or forged token, or an anonymous visitor).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messaging_conversation_links",
    )
    # The customer participant, remembered so a repeat push costs one PATCH and no GET.
    participant_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN, db_index=True)
    verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    # Delivery lease: whoever holds it is the only one talking to Genesys about this conversation. Claimed and
    # released with conditional UPDATEs (works the same on SQLite and PostgreSQL); an expired lease is free.
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = "conversation link"
        ordering = ["-created_at"]
        # The admin list's sort (and date hierarchy), its state filter with that sort, and retention's scan.
        indexes = [
            models.Index(fields=["created_at"], name="messaging_link_created_idx"),
            models.Index(fields=["state", "created_at"], name="messaging_link_state_idx"),
            models.Index(fields=["updated_at"], name="messaging_link_updated_idx"),
        ]

    def __str__(self) -> str:
        return str(self.conversation_id)


class AttributePush(models.Model):
    """One version of the attributes the server vouches for, to be PATCHed onto the customer participant.

    Its states: PushState above; only outbox/records.py changes them.
    """

    State = PushState

    class Cause(models.TextChoices):
        VERIFY = "verify", "data action verify"
        LEVEL_CHANGE = "level_change", "level changed"

    conversation = models.ForeignKey(ConversationLink, on_delete=models.CASCADE, related_name="pushes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messaging_attribute_pushes",
    )
    # Monotonic per conversation; (conversation, version) is what makes a delivery idempotent.
    version = models.PositiveIntegerField()
    cause = models.CharField(max_length=16, choices=Cause.choices, default=Cause.VERIFY)
    # Exactly what is PATCHed: str -> str, never a token or a secret.
    attributes = models.JSONField(default=dict)
    verified = models.BooleanField(default=False)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # Error class, HTTP status and Genesys' message: never a header, a token or a secret.
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # When it last ended failed; kept through a later retry and delivery, so the health page's history keeps it.
    failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "attribute push"
        verbose_name_plural = "attribute pushes"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "version"], name="messaging_push_unique_version"),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="messaging_push_due_idx"),
            # The admin list's sort (and date hierarchy), its filters with that sort, and retention's scan.
            models.Index(fields=["created_at", "id"], name="messaging_push_created_idx"),
            models.Index(fields=["state", "created_at"], name="messaging_push_state_idx"),
            models.Index(fields=["cause", "created_at"], name="messaging_push_cause_idx"),
            models.Index(fields=["state", "updated_at"], name="messaging_push_retention_idx"),
            # The health page's failures per hour and day.
            models.Index(fields=["failed_at"], name="messaging_push_failed_idx"),
        ]

    def __str__(self) -> str:
        # The admin's titles and history read this: the conversation's Genesys id, not the link's row number.
        conversation = self.conversation.conversation_id
        return f"Version {self.version} for conversation {conversation} ({self.get_state_display()})"


class MessagingHealth(AttributePush):
    """No data of its own: the admin's entry for the "Messaging health" page (messaging/admin.py), so the page is
    listed in the admin's index and sidebar with the outbox it describes."""

    class Meta:
        proxy = True
        verbose_name = "messaging health"
        verbose_name_plural = "messaging health"


class MemberTokenGrant(models.Model):
    """The right of one signed-in session to have its member tokens verified (messaging/identity/grants.py).

    Every token a page of the session renders names this grant; verification reads it in one indexed SELECT
    (with the user). It dies with the session: revoked at sign-out, expired with the session, and void once
    the member's password changes (auth_digest no longer matches). Holds no secret: the grant id is only half of
    a token, which is useless without the signature made with SECRET_KEY.
    """

    grant_id = models.CharField(max_length=16, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messaging_token_grants")
    # SHA-256 of the user's session auth hash when granted: a password change makes it differ.
    auth_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    # The session's expiry when granted: the grant does not outlive the session.
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "member token grant"
        indexes = [
            models.Index(fields=["expires_at"], name="messaging_grant_expiry_idx"),
            models.Index(fields=["revoked_at"], name="messaging_grant_revoked_idx"),
        ]

    def __str__(self) -> str:
        return f"grant of user {self.user_id}"


class MemberIdentity(models.Model):
    """The public id of a user when the default member adapter is used (identity/adapter.py): stable, opaque, and
    not the database's sequential key. Made on the user's first page with Messenger."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messaging_identity")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "member identity"

    def __str__(self) -> str:
        return str(self.public_id)


class MemberTokenUse(models.Model):
    """A member token that verified a conversation: it can verify no other (a token read from a participant, or
    replayed onto a conversation of one's own, is spent). Keyed by the token's SHA-256, never the token."""

    token_digest = models.CharField(max_length=64, unique=True)
    conversation_id = models.UUIDField()
    used_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "member token use"

    def __str__(self) -> str:
        return f"token used on {self.conversation_id}"
