"""Server time of the agents' member card: POST /messaging/agent/card/ with an agent's token, as the card's frame
sends it, through the whole middleware stack (Django's test Client), against a real sandbox over HTTP.

    .venv/bin/python bench/agent_card.py [--requests 300] [--warmup 30]

Each request asks Genesys twice (users/me with the agent's token, the conversation with the site's client) and
reads the member from the database. The two Genesys calls are also timed alone, through the same client, so the
card's own time (p50 total minus the calls' p50) shows. One process, a temporary SQLite database, the sandbox on
loopback with no rate limit; pacing and the card's rate limit off. Prints JSON (milliseconds) and a summary line.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._sandbox import running_sandbox  # noqa: E402

REDIRECT_URI = "http://testserver/messaging/agent/card/signed-in/"


def _setup(db_path: Path, sandbox_url: str) -> None:
    os.environ.update(
        DATABASE_URL=f"sqlite:///{db_path}",
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
        GENESYS_SANDBOX="true",
        GENESYS_API_BASE=sandbox_url,
        GENESYS_LOGIN_BASE=sandbox_url,
        GENESYS_APPS_BASE=sandbox_url,
        GENESYS_PACING="false",
        GENESYS_AGENT_CARD_RATE="1000000/m",
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115 - discarded output


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 3),
        "mean": round(statistics.fmean(ordered), 3),
    }


def _timed(call, count: int, warmup: int) -> list[float]:
    samples = []
    for index in range(warmup + count):
        started = time.perf_counter()
        call()
        if index >= warmup:
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def _alices_conversation(sandbox) -> str:
    """alice's conversation, verified by the data action, with agent1 on it."""
    import datetime

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from messaging.identity.adapter import get_member_adapter
    from messaging.identity.grants import create_grant
    from messaging.identity.member_token import make_member_token
    from tests.data_action import basic
    from tests.fixtures.agents import agent_joins

    member = get_member_adapter().member_for_user(get_user_model().objects.get(username="alice"))
    grant = create_grant(member, expires_at=timezone.now() + datetime.timedelta(hours=1))
    token = make_member_token(member.public_id, grant.grant_id)
    conversation_id = sandbox.post("/_conversations", attributes={"memberToken": token}, text="bench")["id"]
    body = {"conversationId": conversation_id, "memberToken": token}
    answer = Client().post(
        "/messaging/genesys/verify", data=body, content_type="application/json", HTTP_AUTHORIZATION=basic()
    )
    assert answer.json()["verified"] == "true", answer.content
    agent_joins(sandbox.url, conversation_id, "agent1")
    return conversation_id


def run(sandbox, requests: int, warmup: int) -> dict:
    from django.test import Client

    from messaging.genesys.client import get_client
    from tests.fixtures.agents import agent_token

    sandbox.post("/_config", rate_per_minute=10**9, agent_redirect_uris=REDIRECT_URI)
    conversation_id = _alices_conversation(sandbox)
    token = agent_token(sandbox.url, "agent1", REDIRECT_URI)
    client = Client()

    def card() -> None:
        response = client.post("/messaging/agent/card/", {"conversationId": conversation_id, "access_token": token})
        assert response.status_code == 200 and b'data-testid="card-level"' in response.content

    genesys = get_client()
    total = _timed(card, requests, warmup)
    user_me = _timed(lambda: genesys.get_user_me(token), requests, warmup)
    conversation = _timed(lambda: genesys.get_message_conversation(conversation_id), requests, warmup)
    results = {
        "requests": requests,
        "card_ms": _ms(total),
        "users_me_ms": _ms(user_me),
        "conversation_ms": _ms(conversation),
    }
    results["own_ms_p50"] = round(
        results["card_ms"]["p50"] - results["users_me_ms"]["p50"] - results["conversation_ms"]["p50"], 3
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    with running_sandbox() as sandbox, tempfile.TemporaryDirectory(prefix="bench-agent-card-") as tmp:
        _setup(Path(tmp) / "bench.sqlite3", sandbox.url)
        results = run(sandbox, args.requests, args.warmup)
    print(json.dumps(results, indent=2))
    card = results["card_ms"]
    print(
        f"member card server time p50 {card['p50']} ms (p90 {card['p90']} ms), of which Genesys calls "
        f"{results['users_me_ms']['p50']} + {results['conversation_ms']['p50']} ms; own p50 {results['own_ms_p50']} ms"
    )


if __name__ == "__main__":
    main()
