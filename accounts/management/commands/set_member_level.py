"""Move one member to a level from the command line; the change goes into the member's level history."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import LevelChange, MembershipLevel
from accounts.services import change_member_level, ensure_member_profile


class Command(BaseCommand):
    help = "Set a member's membership level: set_member_level <username> <level name> [--by <admin username>]."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("level", help="Level name (case-insensitive).")
        parser.add_argument("--by", default=None, help="Username recorded as the one who made the change.")

    def handle(self, *args, username: str, level: str, by: str | None, **options) -> None:
        User = get_user_model()
        user = self._user(User, username)
        actor = self._user(User, by) if by else None
        target = MembershipLevel.objects.filter(name__iexact=level.strip()).first()
        if target is None:
            names = ", ".join(MembershipLevel.objects.values_list("name", flat=True)) or "none defined"
            raise CommandError(f"No level named {level!r} (levels: {names}).")
        profile = ensure_member_profile(user=user)
        old_level = profile.level
        if change_member_level(profile=profile, level=target, via=LevelChange.Via.COMMAND, actor=actor) is None:
            self.stdout.write(f"{username} is already {target}.")
            return
        self.stdout.write(f"{username}: {old_level or 'no level'} -> {target}.")

    @staticmethod
    def _user(User, username: str):
        try:
            return User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
