"""Conversation links and the push outbox in the admin: what was sent, what waits, what failed (Retry now).

Read-only: pushes are written by the verify flow and the worker only. Attributes are shown as pushed; they
never hold a token or a secret.
"""

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from .models import AttributePush, ConversationLink, MessagingHealth
from .monitoring import dashboard
from .services import retry_pushes


def _attributes_block(attributes: dict) -> str:
    # Styled from messaging/static/messaging/admin-push.css: the CSP admits no inline style.
    return format_html('<pre class="push-attributes">{}</pre>', json.dumps(attributes, indent=2, sort_keys=True))


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class AttributePushInline(admin.TabularInline):
    model = AttributePush
    fields = readonly_fields = (
        "version",
        "cause",
        "state",
        "verified",
        "attempts",
        "last_error",
        "delivered_at",
        "created_at",
    )
    ordering = ["-version"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ConversationLink)
class ConversationLinkAdmin(ReadOnlyAdmin):
    list_display = ["conversation_id", "user", "verified", "state", "participant_id", "last_verified_at"]
    list_filter = ["state", "verified", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["conversation_id", "user__username"]
    list_select_related = ["user"]
    fields = readonly_fields = (
        "conversation_id",
        "user",
        "verified",
        "state",
        "participant_id",
        "created_at",
        "updated_at",
        "last_verified_at",
        "lease_until",
    )
    inlines = [AttributePushInline]

    class Media:
        css = {"all": ["messaging/admin-push.css"]}

    # Not date_hierarchy: its year links come from a SELECT DISTINCT over the whole table on every page (cost
    # growing with the outbox); the date filter above needs no query to render and uses the created_at index.
    show_full_result_count = False  # one COUNT per page, not two, when filtered


# What a push is and where it stands: the same columns in the list and on a push's page.
_PUSH_FACTS = ("version", "user", "cause", "state", "verified", "attempts")


@admin.register(AttributePush)
class AttributePushAdmin(ReadOnlyAdmin):
    list_display = ("conversation_id_display", *_PUSH_FACTS, "short_error", "created_at", "delivered_at")
    list_filter = ["state", "cause", "verified", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["conversation__conversation_id", "user__username"]
    list_select_related = ["conversation", "user"]
    fields = readonly_fields = (
        "conversation",
        *_PUSH_FACTS,
        "next_attempt_at",
        "last_attempt_at",
        "last_error",
        "delivered_at",
        "created_at",
        "updated_at",
        "attributes_display",
    )
    actions = ["retry_now"]
    # Not date_hierarchy: its year links come from a SELECT DISTINCT over the whole table on every page (cost
    # growing with the outbox); the date filter above needs no query to render and uses the created_at index.
    show_full_result_count = False  # one COUNT per page, not two, when filtered

    class Media:
        css = {"all": ["messaging/admin-push.css"]}

    @admin.display(description="conversation", ordering="conversation__conversation_id")
    def conversation_id_display(self, obj: AttributePush) -> str:
        # One line however narrow the column: the id in a <code> that admin-push.css keeps from wrapping.
        return format_html('<code class="conversation-id">{}</code>', obj.conversation.conversation_id)

    @admin.display(description="last error")
    def short_error(self, obj: AttributePush) -> str:
        return obj.last_error if len(obj.last_error) <= 80 else obj.last_error[:79] + "…"

    @admin.display(description="attributes")
    def attributes_display(self, obj: AttributePush) -> str:
        return _attributes_block(obj.attributes)

    @admin.action(description="Retry now (failed or waiting pushes that are still the newest version)")
    def retry_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        queued, skipped = retry_pushes(push_ids=list(queryset.values_list("pk", flat=True)))
        if queued:
            self.message_user(request, f"Queued {queued} push(es) for delivery.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"Skipped {skipped} push(es): delivered, in delivery, or superseded by a newer version.",
                messages.WARNING,
            )


@admin.register(MessagingHealth)
class MessagingHealthAdmin(admin.ModelAdmin):
    """ "Messaging health" in the admin's index and sidebar: its list page is the health page (monitoring/dashboard),
    for whoever may view pushes."""

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(dashboard.VIEW_PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return dashboard.health(request)
