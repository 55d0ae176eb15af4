"""The app's tests hold for a host site without this site's apps: no module under tests/messaging/ (nor a helper
of tests/ it imports, at any depth) imports `accounts` or `health`, and none asks for the site's member fixtures
(tests/conftest.py's `levels`, `seeded`), which build on accounts. Members here come from
tests/messaging/conftest.py, on messaging's DefaultMemberAdapter."""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_TESTS = ROOT / "tests" / "messaging"
SITE_PACKAGES = {"accounts", "health"}
SITE_FIXTURES = {"levels", "seeded"}


def imported(tree: ast.AST) -> Iterator[str]:
    """Every module an import statement names, at any depth of the module (function-level imports too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def module_path(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def site_imports(start: list[Path]) -> dict[str, set[str]]:
    """{module path: the site packages it imports}, over the modules given and the tests.* helpers they import."""
    found: dict[str, set[str]] = {}
    seen: set[Path] = set()
    todo = list(start)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported(ast.parse(path.read_text(), str(path))):
            top = name.split(".")[0]
            if top in SITE_PACKAGES:
                where = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
                found.setdefault(where, set()).add(name)
            elif top == "tests" and (helper := module_path(name)) is not None:
                todo.append(helper)
    return found


def test_no_app_test_imports_the_sites_apps():
    modules = sorted(APP_TESTS.rglob("*.py"))
    assert len(modules) > 20, "the app's tests were not found"
    assert site_imports(modules) == {}


def test_the_check_finds_an_import_of_the_site(tmp_path):
    # The scan above can fail: an import inside a function, and one through a helper of tests/, are both found.
    direct, through_a_helper = tmp_path / "direct.py", tmp_path / "helper.py"
    direct.write_text("def f():\n    from accounts.models import LevelChange\n")
    through_a_helper.write_text("import tests.integration.test_member_page\n")
    assert site_imports([direct]) == {str(direct): {"accounts.models"}}
    assert "tests/integration/test_member_page.py" in site_imports([through_a_helper])


def test_no_app_test_asks_for_the_sites_member_fixtures():
    asked = {
        f"{path.relative_to(ROOT)}::{node.name}": sorted(SITE_FIXTURES & {arg.arg for arg in node.args.args})
        for path in APP_TESTS.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assert {name: fixtures for name, fixtures in asked.items() if fixtures} == {}
