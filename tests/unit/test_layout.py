"""The layout's rule that keeps modules one-job-sized: no source module of the product over 400 lines."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("accounts", "config", "health", "messaging", "sandbox")
LIMIT = 400


def test_no_source_module_is_over_400_lines():
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    assert sizes, "no module found"
    assert {name: lines for name, lines in sizes.items() if lines > LIMIT} == {}
