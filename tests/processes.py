"""Several OS processes released at the same moment, for tests of what they share (a token, a rate budget)."""

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
