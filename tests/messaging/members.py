"""What the app's tests share of their members beside the fixtures (tests/messaging/conftest.py)."""

PASSWORD = "member-pass-2026"  # every member the fixtures make signs in with it
