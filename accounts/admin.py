"""The admin as the domain reads: Members (name, email, level, member since, last level change) with the level at the
top of a member's page and the level history inline; levels with their member counts; the bulk level change behind a
confirmation page that says what it will do, as Django's delete does.

Auth's "Users" stays Django's own (passwords, permissions, staff); a member is the same row, shown for membership.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from oauth2_provider.models import get_access_token_model, get_grant_model, get_id_token_model, get_refresh_token_model

from messaging.selectors import open_conversation_count

from .models import LevelChange, Member, MemberProfile, MembershipLevel
from .services import ensure_member_profile, move_members_to_level, save_member_profile

if TYPE_CHECKING:
    import datetime

    from django_stubs_ext import WithAnnotations  # a typing helper of django-stubs, not needed at run time


class _MemberCount(TypedDict):
    _member_count: int


class _LastChange(TypedDict):
    _last_change: datetime.datetime | None


@admin.register(MembershipLevel)
class MembershipLevelAdmin(admin.ModelAdmin):
    list_display = ["name", "rank", "description", "member_count"]
    list_editable = ["rank"]
    list_display_links = ["name"]
    search_fields = ["name"]
    ordering = ["rank"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_member_count=Count("members"))

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj: WithAnnotations[MembershipLevel, _MemberCount]) -> int:
        return obj._member_count

    def save_model(self, request: HttpRequest, obj: MembershipLevel, form, change: bool) -> None:
        old_name = obj.stored_name
        super().save_model(request, obj, form, change)
        if change and old_name is not None and old_name != obj.name:
            # The rename re-pushes after commit (accounts/signals.py): say what it will send, not only "changed".
            members = list(MemberProfile.objects.filter(level=obj).values_list("user_id", flat=True))
            conversations = open_conversation_count(user_ids=members)
            self.message_user(
                request,
                ngettext(
                    "Renamed %(old)s to %(new)s: %(count)d open conversation of its members gets a new push.",
                    "Renamed %(old)s to %(new)s: %(count)d open conversations of its members get a new push.",
                    conversations,
                )
                % {"old": old_name, "new": obj.name, "count": conversations},
                messages.SUCCESS,
            )


class LevelChangeInline(admin.TabularInline):
    """The member's level history, newest first; written by accounts.services, never edited here."""

    model = LevelChange
    fk_name = "member"
    fields = readonly_fields = ("changed_at", "from_name", "to_name", "via", "changed_by")
    ordering = ["-changed_at", "-pk"]
    extra = 0
    can_delete = False
    verbose_name_plural = _("level history")

    # The names as they were at the time (a level renamed or deleted since still reads right).
    @admin.display(description=_("from"))
    def from_name(self, obj: LevelChange) -> str:
        return obj.from_level_name or "—"

    @admin.display(description=_("to"))
    def to_name(self, obj: LevelChange) -> str:
        return obj.to_level_name or "—"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MemberForm(forms.ModelForm):
    """A member's page: the level (a field of the profile, saved through the service) and the person's details."""

    level = forms.ModelChoiceField(queryset=MembershipLevel.objects.all(), required=False, label=_("Membership level"))

    class Meta:
        model = Member
        fields = ["username", "first_name", "last_name", "email", "is_active"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("level", ensure_member_profile(user=self.instance).level_id)


class MoveToLevelForm(ActionForm):
    """The admin's action bar with a level to move the selected members to."""

    level = forms.ModelChoiceField(queryset=MembershipLevel.objects.all(), required=False, label=_("Level"))


@admin.register(Member)
class MemberAdmin(UserAdmin):
    """Members: found by name, email or level; the level first on a member's page, its history below."""

    form = MemberForm
    inlines = [LevelChangeInline]
    action_form = MoveToLevelForm
    actions = ["move_to_level"]
    list_display = ["full_name", "email", "level", "member_since", "last_change"]
    list_display_links = ["full_name"]
    list_filter = ["member_profile__level", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email", "member_profile__level__name"]
    list_select_related = ["member_profile__level"]
    ordering = ["last_name", "first_name", "username"]
    readonly_fields = ["member_id", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["username", "level", "member_id"]}),
        (_("Person"), {"fields": ["first_name", "last_name", "email", "is_active"]}),
        (_("Dates"), {"fields": ["date_joined", "last_login"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_last_change=Max("level_changes__changed_at"))

    @admin.display(description=_("member"), ordering="last_name")
    def full_name(self, obj: Member) -> str:
        return obj.get_full_name() or obj.get_username()

    @admin.display(description=_("level"), ordering="member_profile__level__rank")
    def level(self, obj: Member) -> str:
        profile = getattr(obj, "member_profile", None)
        return str(profile.level) if profile and profile.level else "—"

    # Dates without the time: the list fits 1280 px beside the filters.
    @admin.display(description=_("member since"), ordering="date_joined")
    def member_since(self, obj: Member) -> str:
        return date_format(timezone.localtime(obj.date_joined), "j M Y")

    @admin.display(description=_("level changed"), ordering="_last_change")
    def last_change(self, obj: WithAnnotations[Member, _LastChange]) -> str:
        return date_format(timezone.localtime(obj._last_change), "j M Y") if obj._last_change else "—"

    @admin.display(description=_("member id"))
    def member_id(self, obj: Member) -> str:
        return str(ensure_member_profile(user=obj).member_id) if obj.pk else "—"

    def save_model(self, request: HttpRequest, obj: Member, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change or "level" not in form.cleaned_data:
            return
        # Through the service, so a level changed here is recorded under the admin who saved it.
        profile = ensure_member_profile(user=obj)
        profile.level = form.cleaned_data["level"]
        save_member_profile(profile=profile, via=LevelChange.Via.ADMIN_FORM, actor=request.user)

    @admin.action(description=_("Move to the level chosen…"))
    def move_to_level(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        """First a confirmation page saying how many members move and how many open conversations get a push;
        the move happens only when that page is posted back (as Django's delete_selected)."""
        try:
            level = MoveToLevelForm.base_fields["level"].clean(request.POST.get("level"))
        except forms.ValidationError:
            level = None
        if level is None:
            self.message_user(request, _("Choose a level to move the members to."), messages.ERROR)
            return None
        moving = [user.pk for user in queryset.exclude(member_profile__level=level)]
        conversations = open_conversation_count(user_ids=moving)
        if request.POST.get("post") != "yes":
            return self._confirm_move(request, queryset, level, moving=len(moving), conversations=conversations)
        changed = move_members_to_level(users=queryset, level=level, actor=request.user)
        self.message_user(
            request,
            ngettext("Moved %(count)d member to %(level)s", "Moved %(count)d members to %(level)s", changed)
            % {"count": changed, "level": level}
            + "; "
            + ngettext(
                "%(count)d open conversation gets a new push.",
                "%(count)d open conversations get a new push.",
                conversations,
            )
            % {"count": conversations},
            messages.SUCCESS,
        )
        return None

    def _confirm_move(
        self, request: HttpRequest, queryset: QuerySet, level: MembershipLevel, *, moving: int, conversations: int
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": _("Move members to %(level)s?") % {"level": level},
            "subtitle": None,
            "opts": self.opts,
            "queryset": queryset.select_related("member_profile__level"),
            "level": level,
            "moving": moving,
            "staying": queryset.count() - moving,
            "conversations": conversations,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/accounts/member/move_to_level_confirmation.html", context)


# django-oauth-toolkit registers its token tables in the admin; tokens and codes are secrets, so none is listed.
# The Genesys application stays (its secret is stored hashed).
for _token_model in (get_access_token_model(), get_refresh_token_model(), get_grant_model(), get_id_token_model()):
    if admin.site.is_registered(_token_model):
        admin.site.unregister(_token_model)
