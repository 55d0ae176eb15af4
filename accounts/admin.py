from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from oauth2_provider.models import get_access_token_model, get_grant_model, get_id_token_model, get_refresh_token_model

from messaging.selectors import open_conversation_count

from .models import LevelChange, MemberProfile, MembershipLevel
from .services import move_members_to_level, save_member_profile

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


class LevelChangeInline(admin.TabularInline):
    """The member's level history, newest first; written by accounts.services, never edited here."""

    model = LevelChange
    fk_name = "member"
    fields = ["changed_at", "from_level_name", "to_level_name", "via", "changed_by"]
    readonly_fields = fields
    ordering = ["-changed_at", "-pk"]
    extra = 0
    can_delete = False
    verbose_name_plural = "level history"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MoveToLevelForm(ActionForm):
    """The admin's action bar with a level to move the selected members to."""

    level = forms.ModelChoiceField(queryset=MembershipLevel.objects.all(), required=False, label="Level")


admin.site.unregister(User)


@admin.register(User)
class MemberAdmin(UserAdmin):
    inlines = [MemberProfileInline, LevelChangeInline]
    action_form = MoveToLevelForm
    actions = ["move_to_level"]
    list_display = ["username", "first_name", "last_name", "email", "level", "last_login", "is_staff"]
    list_filter = ["member_profile__level", "is_staff", "is_superuser", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email", "member_profile__level__name"]
    list_select_related = ["member_profile__level"]

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not MemberProfile:
            super().save_formset(request, form, formset, change)
            return
        # Through the service, so a level changed in this form is recorded under the admin who saved it.
        for profile in formset.save(commit=False):
            save_member_profile(profile=profile, via=LevelChange.Via.ADMIN_FORM, actor=request.user)
        formset.save_m2m()

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
        moving = [user.pk for user in queryset.exclude(member_profile__level=level)]
        conversations = open_conversation_count(user_ids=moving)
        changed = move_members_to_level(users=queryset, level=level, actor=request.user)
        self.message_user(
            request,
            f"Moved {changed} member(s) to {level}; {conversations} open conversation(s) will get a new push.",
            messages.SUCCESS,
        )


# django-oauth-toolkit registers its token tables in the admin; tokens and codes are secrets, so none is listed.
# The Genesys application stays (its secret is stored hashed).
for _token_model in (get_access_token_model(), get_refresh_token_model(), get_grant_model(), get_id_token_model()):
    if admin.site.is_registered(_token_model):
        admin.site.unregister(_token_model)
