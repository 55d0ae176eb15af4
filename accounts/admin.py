from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from .models import MemberProfile, MembershipLevel
from .services import move_members_to_level

User = get_user_model()


@admin.register(MembershipLevel)
class MembershipLevelAdmin(admin.ModelAdmin):
    list_display = ["name", "rank", "description", "member_count"]
    list_editable = ["rank"]
    list_display_links = ["name"]
    search_fields = ["name"]
    ordering = ["rank"]

    @admin.display(description="members")
    def member_count(self, obj: MembershipLevel) -> int:
        return obj.members.count()


class MemberProfileInline(admin.StackedInline):
    model = MemberProfile
    can_delete = False
    fields = ["level", "member_id"]
    readonly_fields = ["member_id"]
    verbose_name_plural = "member profile"


class MoveToLevelForm(ActionForm):
    """The admin's action bar with a level to move the selected members to."""

    level = forms.ModelChoiceField(queryset=MembershipLevel.objects.all(), required=False, label="Level")


admin.site.unregister(User)


@admin.register(User)
class MemberAdmin(UserAdmin):
    inlines = [MemberProfileInline]
    action_form = MoveToLevelForm
    actions = ["move_to_level"]
    list_display = ["username", "first_name", "last_name", "email", "level", "last_login", "is_staff"]
    list_filter = ["member_profile__level", "is_staff", "is_superuser", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email", "member_profile__level__name"]
    list_select_related = ["member_profile__level"]

    @admin.display(description="level", ordering="member_profile__level__rank")
    def level(self, obj) -> str:
        profile = getattr(obj, "member_profile", None)
        return str(profile.level) if profile and profile.level else "—"

    @admin.action(description="Move selected members to the chosen level")
    def move_to_level(self, request, queryset) -> None:
        try:
            level = MoveToLevelForm.base_fields["level"].clean(request.POST.get("level"))
        except forms.ValidationError:
            level = None
        if level is None:
            self.message_user(request, "Choose a level to move the members to.", messages.ERROR)
            return
        changed = move_members_to_level(users=queryset, level=level, actor=request.user)
        self.message_user(request, f"Moved {changed} member(s) to {level}.", messages.SUCCESS)
