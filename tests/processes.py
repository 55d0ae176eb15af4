"""Several OS processes released at the same moment, for tests of what they share (a token, a rate budget)."""

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A racing child's protocol: say it is ready (argv[1]), then wait for the starting signal (argv[2]), 60 s at most.
_READY_THEN_WAIT_FOR_GO = """
ready, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
ready.touch()
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit(3)
    time.sleep(0.002)
"""


def racing_script(prepare: str, work: str) -> str:
    """The source of a child for race(): Django set up and `prepare` run (the slow part), then ready, then, once
    released, `work`, which prints its JSON result last. Both see race()'s extra args as sys.argv[3:]."""
    parts = ["import json, pathlib, sys, time\nimport django\ndjango.setup()", prepare, _READY_THEN_WAIT_FOR_GO, work]
    return "\n".join(textwrap.dedent(part).strip() for part in parts) + "\n"


def race(tmp_path: Path, env: dict[str, str], script: str, processes: int, *args: str) -> list[dict]:
    """Start `processes` children running `script` with argv [ready-flag, go-flag, *args]; each touches its ready
    flag once set up and waits for the go flag. Release them together and return the JSON each prints last."""
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(processes)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(flag), str(go), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ready
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready):
            failed = [c for c in children if c.poll() is not None]
            assert not failed, failed[0].communicate()[1]
            assert time.monotonic() < deadline, "children did not get ready"
            time.sleep(0.01)
        go.touch()
        results = []
        for child in children:
            out, err = child.communicate(timeout=60)
            assert child.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
