"""Demo levels and members for a first run (idempotent)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import LevelChange, MembershipLevel
from accounts.services import change_member_level, ensure_member_profile

DEMO_PASSWORD = "demo-pass-2026"
LEVELS = [
    ("Bronze", 10, "Standard support during business hours."),
    ("Silver", 20, "Priority queue during business hours."),
    ("Gold", 30, "Priority queue around the clock."),
    ("Platinum", 40, "A dedicated team, around the clock."),
]
MEMBERS = [
    ("alice", "Alice", "Anders", "alice@example.com", "Gold"),
    ("bob", "Bob", "Berg", "bob@example.com", "Silver"),
    ("carol", "Carol", "Chen", "carol@example.com", "Bronze"),
]


class Command(BaseCommand):
    help = "Create the demo membership levels, members alice/bob/carol and the superuser admin (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--password", default=DEMO_PASSWORD, help="Password for every demo account.")

    @transaction.atomic
    def handle(self, *args, password: str, **options) -> None:
        levels = {}
        for name, rank, description in LEVELS:
            level, created = MembershipLevel.objects.get_or_create(
                name=name, defaults={"rank": rank, "description": description}
            )
            levels[name] = level
            self._report("level", name, created)

        User = get_user_model()
        for username, first, last, email, level_name in MEMBERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last, "email": email}
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            profile = ensure_member_profile(user=user)
            if created or profile.level is None:
                change_member_level(profile=profile, level=levels[level_name], via=LevelChange.Via.COMMAND)
            self._report("member", f"{username} ({profile.level})", created)

        admin, created = User.objects.get_or_create(
            username="admin", defaults={"email": "admin@example.com", "is_staff": True, "is_superuser": True}
        )
        if created:
            admin.set_password(password)
            admin.save(update_fields=["password"])
        self._report("superuser", "admin", created)
        self.stdout.write(f"Demo accounts that were created use the password given ({password!r}).")

    def _report(self, kind: str, name: str, created: bool) -> None:
        self.stdout.write(f"{'created' if created else 'exists '}  {kind:<9} {name}")
