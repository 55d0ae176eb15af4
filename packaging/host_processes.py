"""The processes of check_install.py's host: commands in the new project, the packaged sandbox and `runserver`,
each in the temporary folder with an environment that holds nothing of this repository or of the caller's
Genesys settings. Every wait is on a condition, bounded."""

from __future__ import annotations

import os
import secrets
import selectors
import shlex
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import requests

REPOSITORY = Path(__file__).resolve().parents[1]
# The addresses the README's sandbox.env uses, swapped for this run's free ports.
README_SITE = "http://127.0.0.1:8000"
README_SANDBOX = "http://127.0.0.1:8100"
# The caller's variables that would change what the host does: none reaches it.
DROPPED_PREFIXES = ("GENESYS_", "SANDBOX_", "DJANGO_", "PYTHON", "VIRTUAL_ENV", "PIP_")
DROPPED = {"DATABASE_URL", "REDIS_URL", "OIDC_RSA_PRIVATE_KEY", "METRICS_TOKEN"}
T = TypeVar("T")


class Failed(Exception):
    """A step of the check did not pass; the message says which and why."""


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run `command` to its end; answers stdout and stderr; Failed with their tail when it exits non-zero."""
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failed(f"{shlex.join(command)} did not finish within {timeout} s") from None
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise Failed(f"{shlex.join(command)} exited {done.returncode}:\n{output[-4000:]}")
    return output


def wait_until(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1) -> T:
    """Call `probe` until it answers something truthy; Failed naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise Failed(f"{what}: not within {timeout} s")
        time.sleep(interval)  # polling interval of a bounded wait on a condition


def free_port() -> int:
    """A port nothing listens on now (the host binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only, never through a proxy
    return session


@dataclass
class HostEnv:
    """The new project, its virtualenv and the environment the README's sandbox.env block gives it."""

    project: Path
    bin_dir: Path
    readme_env: dict[str, str]
    username: str = "member"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    rsa_key: str = ""
    loaded_from: dict[str, str] = field(default_factory=dict)

    @classmethod
    def prepare(cls, project: Path, bin_dir: Path) -> HostEnv:
        """Read sandbox.env, migrate, create the superuser, and check the host loads messaging from the venv."""
        host = cls(project, bin_dir, read_exports(project / "sandbox.env"))
        env = host.env_for(README_SITE, README_SANDBOX)
        host.manage(["migrate", "--noinput"], env)
        superuser = {"DJANGO_SUPERUSER_USERNAME": host.username, "DJANGO_SUPERUSER_PASSWORD": host.password}
        host.manage(["createsuperuser", "--noinput", "--email", "member@example.com"], {**env, **superuser})
        host.loaded_from = host.where_loaded(env)
        key = "from cryptography.hazmat.primitives import serialization as s; from cryptography.hazmat.primitives"
        key += ".asymmetric import rsa; k = rsa.generate_private_key(public_exponent=65537, key_size=2048); print("
        key += "k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode())"
        host.rsa_key = run([str(bin_dir / "python"), "-c", key], cwd=project, env=env)
        return host

    def env_for(self, site_url: str, sandbox_url: str) -> dict[str, str]:
        """The caller's environment without its settings, the venv first on PATH, and sandbox.env's variables
        with the README's addresses swapped for `site_url` and `sandbox_url`."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_PREFIXES) and k not in DROPPED}
        base["PATH"] = f"{self.bin_dir}{os.pathsep}{base.get('PATH', '')}"
        swapped = {
            name: value.replace(README_SITE, site_url).replace(README_SANDBOX, sandbox_url)
            for name, value in self.readme_env.items()
        }
        return {**base, **swapped}

    def production_env(self, env: dict[str, str]) -> dict[str, str]:
        """`env` as production has it: DEBUG off, a real secret key and signing key, a long data action password,
        a public host name and Redis (the README's production block reads these)."""
        return {
            **env,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "www.example.com",
            "OIDC_RSA_PRIVATE_KEY": self.rsa_key,
            "GENESYS_DATA_ACTION_PASSWORD": secrets.token_urlsafe(32),
            "GENESYS_OIDC_REDIRECT_URIS": '["https://www.example.com/"]',
            "REDIS_URL": "redis://127.0.0.1:6379/11",
        }

    def manage(self, args: list[str], env: dict[str, str]) -> str:
        return run([str(self.bin_dir / "python"), "manage.py", *args], cwd=self.project, env=env)

    def where_loaded(self, env: dict[str, str]) -> dict[str, str]:
        """Where the host's Django loads messaging and the sandbox from; Failed when outside the venv or when
        this repository is on its sys.path."""
        code = "import sys, messaging, sandbox; print(messaging.__file__); print(sandbox.__file__); print(sys.path)"
        lines = self.manage(["shell", "-c", code], env).strip().splitlines()
        venv = self.bin_dir.parent.resolve()
        loaded = {"messaging": lines[-3], "sandbox": lines[-2]}
        outside = [path for path in loaded.values() if venv not in Path(path).resolve().parents]
        if outside:
            raise Failed(f"the host loads {outside}, not from the new virtualenv {venv}")
        if str(REPOSITORY) in lines[-1]:
            raise Failed(f"this repository is on the host's sys.path: {lines[-1]}")
        return loaded


def read_exports(path: Path) -> dict[str, str]:
    """NAME=value of each `export` line of a shell file (the README's sandbox.env)."""
    if not path.exists():
        raise Failed("the README has no sandbox.env block")
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            found.update(word.split("=", 1) for word in words[1:] if "=" in word)
    return found


@dataclass
class Running:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str


class Processes:
    """The sandbox and site processes started so far, stopped together; their stderr in log files."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.running: list[Running] = []

    def start(self, name: str, command: list[str], host: HostEnv, env: dict[str, str]) -> Running:
        log = self.work / f"{name}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                command, cwd=host.project, env=env, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL
            )
        started = Running(name, process, log, "")
        self.running.append(started)
        return started

    def sandbox(self, host: HostEnv, site_url: str, auth_enabled: bool, name: str) -> Running:
        """`python -m sandbox --port 0` from the venv, its data action and OpenID Connect discovery at `site_url`
        (sandbox.env), authentication on or off; answers once GET /_stats answers."""
        env = {**host.env_for(site_url, README_SANDBOX), "SANDBOX_AUTH_ENABLED": str(auth_enabled).lower()}
        command = [str(host.bin_dir / "python"), "-m", "sandbox", "--host", "127.0.0.1", "--port", "0", "--quiet"]
        started = self.start(name, command, host, env)
        started.url = first_line_url(started.process.stdout, timeout=20, what=f"{name} listening line")
        with http() as session:
            wait_until(lambda: answers(session, f"{started.url}/_stats", started.process), 20, f"{name} /_stats")
        return started

    def site(self, host: HostEnv, env: dict[str, str], site_url: str, name: str) -> Running:
        """`manage.py runserver --noreload` on `site_url`'s port; answers once its admin login page answers."""
        address = site_url.removeprefix("http://")
        command = [str(host.bin_dir / "python"), "manage.py", "runserver", "--noreload", address]
        started = self.start(name, command, host, env)
        started.url = site_url
        with http() as session:
            wait_until(lambda: answers(session, f"{site_url}/admin/login/", started.process), 30, f"{name} up")
        return started

    def stop_all(self, show_logs: bool = False) -> None:
        for running in self.running:
            if running.process.poll() is None:
                running.process.terminate()
                try:
                    running.process.wait(10)
                except subprocess.TimeoutExpired:
                    running.process.kill()
                    running.process.wait(10)
            if running.process.stdout is not None:
                running.process.stdout.close()
            if show_logs and running.log.exists():
                print(f"--- {running.name} stderr (last lines) ---\n{running.log.read_text(errors='replace')[-3000:]}")
        self.running.clear()


def first_line_url(stdout: IO[bytes] | None, timeout: float, what: str) -> str:
    """The URL of the sandbox's first line ("... listening on http://host:port")."""
    assert stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        ready = selector.select(timeout)
    line = stdout.readline().decode().strip() if ready else ""
    if "listening on " not in line:
        raise Failed(f"{what}: got {line!r}")
    return line.split("listening on ", 1)[1]


def answers(session: requests.Session, url: str, process: subprocess.Popen[bytes]) -> bool:
    """True once `url` answers below 500; Failed at once if the process behind it has exited."""
    if process.poll() is not None:
        raise Failed(f"the process serving {url} exited with {process.returncode}")
    try:
        return session.get(url, timeout=5).status_code < 500
    except requests.RequestException:
        return False


def as_json(response: requests.Response, what: str) -> Any:
    """The JSON body of a 2xx `response`; Failed naming `what` otherwise."""
    if not response.ok:
        raise Failed(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    return response.json()
