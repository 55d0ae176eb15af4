"""The distribution django-genesys-messaging (packaging/django-genesys-messaging): its wheel, built from this
repository as `.ci/run` would, holds the app with everything it renders or serves, its optional provider and the
sandbox, and nothing of this site; its metadata names the extras the import errors name. Its sdist builds, unpacked
anywhere, the same wheel."""

import hashlib
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "packaging" / "django-genesys-messaging"
pytestmark = pytest.mark.timeout(120)


def pip_wheel(source: Path, out: Path) -> zipfile.ZipFile:
    """The wheel pip builds from `source` (a project folder or an sdist), offline, with this venv's hatchling."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("django_genesys_messaging-*.whl")
    return zipfile.ZipFile(path)


def contents(wheel: zipfile.ZipFile) -> dict[str, str]:
    """{file: sha256} of every file but RECORD (which lists the same hashes)."""
    return {name: hashlib.sha256(wheel.read(name)).hexdigest() for name in wheel.namelist() if "RECORD" not in name}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    return pip_wheel(PROJECT, tmp_path_factory.mktemp("dist"))


def test_the_sdist_unpacked_elsewhere_builds_the_same_wheel(wheel, tmp_path):
    built = subprocess.run(
        [sys.executable, "-c", "import sys; from hatchling.build import build_sdist; build_sdist(sys.argv[1])"]
        + [str(tmp_path / "sdist")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (sdist,) = (tmp_path / "sdist").glob("django_genesys_messaging-*.tar.gz")
    with tarfile.open(sdist) as archive:
        tops = {Path(name).parts[1] for name in archive.getnames() if len(Path(name).parts) > 1}
    assert {"messaging", "sandbox", "pyproject.toml", "PKG-INFO"} <= tops
    assert not tops & {"accounts", "config", "health", "tests"}

    from_sdist = pip_wheel(sdist, tmp_path / "wheel")  # pip unpacks it in a temporary folder of its own

    assert contents(from_sdist) == contents(wheel)


def test_the_wheel_holds_the_app_its_files_the_provider_and_the_sandbox_only(wheel):
    names = set(wheel.namelist())
    for needed in (
        "messaging/apps.py",
        "messaging/migrations/0001_initial.py",
        "messaging/static/messaging/admin-push.css",
        "messaging/static/messaging/messenger.js",
        "messaging/templates/admin/messaging/health.html",
        "messaging/oidc/urls.py",
        "messaging/oidc/management/commands/genesys_oidc_client.py",
        "sandbox/__main__.py",
    ):
        assert needed in names, needed
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"messaging", "sandbox"}  # no accounts, config, health or tests
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_the_metadata_names_the_extras_and_the_supported_versions(wheel):
    (metadata_name,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    assert metadata["Name"] == "django-genesys-messaging"
    assert set(metadata.get_all("Provides-Extra")) == {"redis", "metrics", "oidc", "sandbox"}
    assert {"Framework :: Django :: 4.2", "Framework :: Django :: 5.2"} <= set(metadata.get_all("Classifier"))
    assert metadata["Requires-Python"] == ">=3.11"
    assert "# Member Messaging" in metadata.get_payload()  # messaging/README.md is the package's README


def _pinned_versions(*names: str) -> dict[str, str]:
    """package -> version pinned with == in the requirements files `names` (their -r lines not followed)."""
    pins = {}
    for name in names:
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-r"):
                requirement = Requirement(line)
                (pin,) = requirement.specifier
                pins[canonicalize_name(requirement.name)] = pin.version
    return pins


@pytest.mark.parametrize(
    "tested",
    [
        pytest.param(["requirements.txt", "requirements-sandbox.txt", "requirements-dev.txt"], id="django-5.2"),
        pytest.param(["requirements-django42.txt"], id="django-4.2"),
    ],
)
def test_the_declared_dependencies_admit_what_the_suites_run(wheel, tested):
    # Django>=4.2,<6 is a promise: each Django the app's tests run on (`make test`, `make test-django42`), with
    # the libraries pinned beside it, meets every dependency the wheel declares, its extras' included.
    (metadata_name,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    declared = [
        Requirement(line) for line in Parser().parsestr(wheel.read(metadata_name).decode()).get_all("Requires-Dist")
    ]
    pins = _pinned_versions(*tested)
    for requirement in declared:
        pinned = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pinned, prereleases=True), (str(requirement), pinned)
