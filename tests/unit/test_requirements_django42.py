"""requirements-django42.txt (the app's tests on Django 4.2 LTS, `make test-django42`) is the union of the pins of
requirements.txt, requirements-sandbox.txt and requirements-dev.txt, changed only where 4.2 needs it: a pin
bumped in those files and forgotten here would test 4.2 against other libraries than 5.2's."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["requirements.txt", "requirements-sandbox.txt", "requirements-dev.txt"]
# The packages whose 4.2 pin differs, each with the reason in requirements-django42.txt.
DIFFERENT_ON_42 = {"django": "4.2.", "django-tasks-db": "0.12."}


def _pins(name: str) -> dict[str, str]:
    """package (normalised name) -> pinned version, for every requirement line of the file `name`."""
    pins: dict[str, str] = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-r"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==(\S+)", line)
        assert match, f"{name}: {line!r} is not pinned with =="
        package = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        assert package not in pins, f"{name} pins {package} twice"
        pins[package] = match.group(3)
    return pins


def test_the_django42_pins_are_the_projects_with_only_what_42_needs_changed():
    union: dict[str, str] = {}
    for name in SOURCES:
        union.update(_pins(name))
    on_42 = _pins("requirements-django42.txt")

    assert set(on_42) == set(union)
    differing = {package for package in union if on_42[package] != union[package]}
    assert differing == set(DIFFERENT_ON_42)
    for package, series in DIFFERENT_ON_42.items():
        assert on_42[package].startswith(series), (package, on_42[package])
