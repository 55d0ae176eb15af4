"""Run the host site as if some packages were not installed: `python -m tests.hostsite.without PKG[,PKG...]
MODULE...`. The packages are refused at import (as pip uninstall would leave them); django.setup() and
`manage.py check` run, then each MODULE is imported. Prints one JSON object: {"check": "ok" | the error,
"imports": {MODULE: "ok" | "ExceptionClass: message"}} (tests/messaging/unit/test_optional_dependencies.py reads it)."""

import importlib
import importlib.abc
import json
import sys


class Refuse(importlib.abc.MetaPathFinder):
    def __init__(self, packages: set[str]) -> None:
        self.packages = packages

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001, ANN201 - the finder protocol
        if name.split(".")[0] in self.packages:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def outcome(action) -> str:  # noqa: ANN001
    try:
        action()
    except Exception as error:  # reported, not raised: the test asserts on it
        return f"{type(error).__name__}: {error}"
    return "ok"


def main() -> None:
    sys.meta_path.insert(0, Refuse(set(sys.argv[1].split(","))))
    import django
    from django.core.management import call_command

    setup = outcome(django.setup)
    checked = outcome(lambda: call_command("check", verbosity=0)) if setup == "ok" else setup
    imports = {module: outcome(lambda m=module: importlib.import_module(m)) for module in sys.argv[2:]}
    print(json.dumps({"check": checked, "imports": imports}))


if __name__ == "__main__":
    main()
