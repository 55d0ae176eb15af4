"""The packaged install, end to end, as a Django developer meets it: `python packaging/check_install.py`.

1. Builds the wheel and the sdist of django-genesys-messaging (hatchling, offline), builds a wheel again from the
   unpacked sdist and requires the same files with the same bytes.
2. Makes a virtualenv in a temporary folder and installs only that wheel, with the extras the package README's
   `pip install` lines name (the dependencies come from the package index).
3. `django-admin startproject mysite` there, then applies the README's file blocks (a fence whose info string
   names a file, e.g. ```python mysite/settings.py): appended to the file, or written when it does not exist.
   The README is read from the wheel's metadata: no file of this repository but the wheel is used, and every
   process of the host runs in the temporary folder (messaging must load from the new virtualenv).
4. For each identity mode, member token and authenticated messaging: starts the packaged sandbox and the host
   (`runserver`), with the environment of the README's `sandbox.env` block (ports swapped for free ones), runs
   `check --deploy --fail-level WARNING` with the README's production settings, signs a superuser in over HTTP,
   reads the page, checks that its Content-Security-Policy lets the widget load and connect, plays the guest on
   the sandbox's socket and waits, bounded, until the sandbox shows the conversation verified by the site's push.

Prints a JSON summary and one line; exits 1 with the reason on the first failure. Needs requests and
simple-websocket (requirements-sandbox.txt) and hatchling (requirements-dev.txt) in the interpreter that runs it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import tarfile
import tempfile
import time
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

from host_processes import Failed, HostEnv, Processes, free_port, run
from host_session import authenticated_verify, member_token_verify, signed_in_page

PROJECT = Path(__file__).resolve().parent / "django-genesys-messaging"
DISTRIBUTION = "django-genesys-messaging"
# A fenced block a host applies: ```<language> <file>, the file relative to the folder of manage.py.
FILE_BLOCK = re.compile(r"^```[\w-]+[ \t]+([\w./-]+)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
SHELL_BLOCK = re.compile(r"^```sh[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
PIP_INSTALL = re.compile(r'pip install "' + DISTRIBUTION + r'\[([\w,]+)\]"')
# The commands this check runs; each must be one the README tells a host to run.
README_COMMANDS = (
    "django-admin startproject mysite",
    "python manage.py migrate",
    "python manage.py check --deploy",
    "python manage.py genesys_oidc_client",
    "python manage.py createsuperuser",
    "python manage.py runserver",
    "python -m sandbox --port",
)


def build(dist: Path) -> dict[str, Any]:
    """The wheel and sdist from the tree, and the wheel from the unpacked sdist; they must agree."""
    wheel_script = "import sys; from hatchling.build import build_wheel; build_wheel(sys.argv[1])"
    sdist_script = "import sys; from hatchling.build import build_sdist; build_sdist(sys.argv[1])"
    run([sys.executable, "-c", wheel_script, str(dist / "tree")], cwd=PROJECT)
    run([sys.executable, "-c", sdist_script, str(dist / "tree")], cwd=PROJECT)
    (wheel,) = (dist / "tree").glob("*.whl")
    (sdist,) = (dist / "tree").glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(dist / "unpacked", filter="data")
    (unpacked,) = (dist / "unpacked").iterdir()
    run([sys.executable, "-c", wheel_script, str(dist / "sdist")], cwd=unpacked)
    (again,) = (dist / "sdist").glob("*.whl")
    tree_files, sdist_files = contents(wheel), contents(again)
    if tree_files != sdist_files:
        differ = sorted(set(tree_files) ^ set(sdist_files)) or [
            n for n in tree_files if tree_files[n] != sdist_files[n]
        ]
        raise Failed(f"the wheel built from the sdist differs from the tree's: {differ[:10]}")
    return {"wheel": wheel, "sdist": sdist.name, "files": len(tree_files)}


def contents(wheel: Path) -> dict[str, str]:
    """{file: sha256} of a wheel, RECORD aside (it lists the same hashes)."""
    with zipfile.ZipFile(wheel) as archive:
        return {n: hashlib.sha256(archive.read(n)).hexdigest() for n in archive.namelist() if "RECORD" not in n}


def readme_of(wheel: Path) -> str:
    """The package README, as the wheel's metadata carries it (what PyPI would show)."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode()).get_payload()


def extras_of(readme: str) -> list[str]:
    """The extras the README's `pip install` lines name, in any of its shell blocks."""
    found = {
        extra
        for block in SHELL_BLOCK.findall(readme)
        for group in PIP_INSTALL.findall(block)
        for extra in group.split(",")
    }
    if not found:
        raise Failed(f'the README has no `pip install "{DISTRIBUTION}[...]"` line')
    return sorted(found)


def apply_blocks(readme: str, project: Path) -> dict[str, int]:
    """Append (or write) each file block to its file in `project`; answers {file: lines written, blank aside}."""
    written: dict[str, int] = {}
    for target, body in FILE_BLOCK.findall(readme):
        path = (project / target).resolve()
        if project.resolve() not in path.parents:
            raise Failed(f"README block names a file outside the project: {target}")
        if path.exists():
            with path.open("a", encoding="utf-8") as file:
                file.write("\n" + body)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
        written[target] = written.get(target, 0) + sum(1 for line in body.splitlines() if line.strip())
    return written


def install(work: Path, wheel: Path, extras: list[str]) -> Path:
    """A fresh virtualenv in `work` with the wheel and its extras; answers its bin folder."""
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=work)
    run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            f"{wheel}[{','.join(extras)}]",
        ],
        cwd=work,
        timeout=900,
    )
    return venv / "bin"


def check_mode(host: HostEnv, processes: Processes, authenticated: bool) -> dict[str, Any]:
    """One identity mode: the deploy check, then a signed-in page and a verify through the sandbox."""
    mode = "authenticated" if authenticated else "member-token"
    site_url = f"http://127.0.0.1:{free_port()}"
    sandbox = processes.sandbox(host, site_url, auth_enabled=authenticated, name=f"sandbox-{mode}")
    site_env = host.env_for(site_url, sandbox.url)
    if not authenticated:  # on by default with the sandbox (README, section 7)
        site_env["GENESYS_AUTHENTICATED_MESSAGING"] = "false"
    deploy = host.manage(["check", "--deploy", "--fail-level", "WARNING"], host.production_env(site_env))
    if authenticated:
        host.manage(["genesys_oidc_client"], site_env)
    site = processes.site(host, site_env, site_url, name=f"site-{mode}")
    session, page, data = signed_in_page(site, host.username, host.password)
    csp = csp_of(page.headers.get("Content-Security-Policy", ""), sandbox.url)
    if authenticated:
        verified = authenticated_verify(site, sandbox, session, data)
    else:
        verified = member_token_verify(sandbox, data)
    processes.stop_all()
    return {"mode": mode, "check_deploy": deploy.strip().splitlines()[-1:], "csp": csp, **verified}


def csp_of(policy: str, sandbox_url: str) -> dict[str, list[str]]:
    """The page's policy lets the widget load (script-src) and connect (connect-src, ws:// for the socket)."""
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    socket_origin = sandbox_url.replace("http://", "ws://", 1)
    needed = {"script-src": [sandbox_url], "connect-src": [sandbox_url, "'self'"]}  # 'self': the auth-code fetch
    missing = [f"{name} {o}" for name, origins in needed.items() for o in origins if o not in directives.get(name, [])]
    if not any(source.startswith(socket_origin) for source in directives.get("connect-src", [])):
        missing.append(f"connect-src {socket_origin}")
    if missing:
        raise Failed(f"the page's Content-Security-Policy blocks the widget: no {missing} in {policy!r}")
    return {name: directives[name] for name in needed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    args = parser.parse_args()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="check-install-"))
    summary: dict[str, Any] = {"folder": str(work)}
    processes = Processes(work)
    try:
        built = build(work / "dist")
        summary.update(wheel=built["wheel"].name, sdist=built["sdist"], wheel_files=built["files"])
        summary["build_seconds"] = round(time.monotonic() - started, 1)
        readme = readme_of(built["wheel"])
        missing = [command for command in README_COMMANDS if command not in readme]
        if missing:
            raise Failed(f"the README does not tell a host to run {missing}")
        summary["extras"] = extras_of(readme)
        bin_dir = install(work, built["wheel"], summary["extras"])
        summary["install_seconds"] = round(time.monotonic() - started - summary["build_seconds"], 1)
        run([str(bin_dir / "django-admin"), "startproject", "mysite"], cwd=work)
        summary["host_lines"] = apply_blocks(readme, work / "mysite")
        host = HostEnv.prepare(work / "mysite", bin_dir)
        summary["loaded_from"] = host.loaded_from
        summary["modes"] = [check_mode(host, processes, authenticated) for authenticated in (False, True)]
    except Failed as failure:
        processes.stop_all(show_logs=True)
        print(json.dumps(summary, indent=2, default=str))
        print(f"check_install: FAILED: {failure}")
        return 1
    finally:
        processes.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    summary["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(summary, indent=2, default=str))
    lines = sum(summary["host_lines"].values())
    print(
        f"check_install: OK: wheel + sdist agree, installed with [{','.join(summary['extras'])}], "
        f"{lines} host lines from the README, check --deploy clean, member-token and authenticated verify, "
        f"CSP allows the widget ({summary['seconds']} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
