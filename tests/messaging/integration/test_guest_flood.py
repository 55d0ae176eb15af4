"""Issue 21, finding 1, as a stranger would try it: a flood of anonymous guest conversations (some carrying a junk
token and a member's id, as a hostile page can) through the sandbox, whose flow calls the live site's data action
for each, while members chat and verify, and bad verifies are tried on a verified conversation.

Bounded and on loopback: 400 guest conversations from 8 threads, each with one data action in flight; the third
quarter goes out as the members start, the last once bob's verify is answered. Members' steps run one at a time
(SQLite's shared in-memory test database would refuse concurrent writers). The sandbox's `/_stats` counts every
Platform API call the site made, and `/_conversations` keeps every push.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sandbox.launcher import GET_ROUTE, PATCH_ROUTE
from tests.data_action import URL, basic
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

GUESTS = 400
FLOOD_THREADS = 8
TIMEOUT = 20.0  # the data action's timeout (deploy/genesys/*.data-action.json, the sandbox's default)


def guest_attributes(index: int, victim_id: str) -> dict[str, str]:
    """What a stranger's page may set: nothing, or a member's id and level with a junk or empty token."""
    if index % 4 == 0:
        return {}
    token = ["x", "", "forged." + "A" * 90][index % 3]
    return {"isAuthenticated": "true", "memberId": victim_id, "membershipLevel": "Platinum", "memberToken": token}


def post_to_live(sandbox: Any, live_server: Any, body: dict[str, str]) -> dict[str, str]:
    """The data action's call, as Genesys makes it, straight to the live site (through the sandbox's session: no
    proxy on loopback)."""
    response = sandbox.http.post(
        f"{live_server.url}{URL}", json=body, headers={"Authorization": basic()}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


def finished_call(sandbox: Any, conversation_id: str) -> dict[str, Any] | None:
    """The conversation once its data action call has ended (answered, failed or timed out), else None."""
    conversation = sandbox.conversation(conversation_id)
    calls = conversation["dataActionCalls"] if conversation else []
    return conversation if calls and calls[0]["state"] != "pending" else None


def authenticated_conversation(sandbox: Any, jwt: str, text: str) -> dict[str, Any]:
    """A member's authenticated chat: configureAuthenticatedSession, one message; the conversation once its data
    action has answered."""
    guest = sandbox.signed_in_guest(jwt)
    try:
        frame = guest.send(text)
    finally:
        guest.close()
    assert frame["code"] == 200, frame
    found = next(c for c in sandbox.conversations() if any(m["id"] == frame["body"]["id"] for m in c["messages"]))
    return wait_until(lambda: finished_call(sandbox, found["id"]), TIMEOUT + 10, f"the data action of {text!r}")


def test_a_guest_flood_costs_no_genesys_call_and_members_stay_verified(
    live_server, sandbox, alice, bob, make_member, auth_code_for, member_token, public_id, settings
):
    settings.GENESYS_AUTHENTICATED_MESSAGING = True
    sandbox.configure(flow_enabled=True, data_action_timeout=TIMEOUT)
    alice_sub, bob_sub = public_id(alice), public_id(bob)
    # Everything the members need from the site is issued before the flood (the test thread's own writes would
    # race the live server's on SQLite).
    alice_jwt = sandbox.exchange(auth_code_for(alice)).json()["jwt"]
    bob_jwt = sandbox.exchange(auth_code_for(bob)).json()["jwt"]
    carol = make_member("carol")
    carol_token, carol_sub = member_token(carol), public_id(carol)
    forged_token = carol_token.split(":")[0] + ":" + member_token(bob).split(":", 1)[1]

    # Alice is verified before the flood starts: the conversation a stranger would like to wipe.
    alices = authenticated_conversation(sandbox, alice_jwt, "Hello, alice here")
    assert alices["dataActionCalls"][0]["body"]["verified"] == "true"
    before = sandbox.stats()["requests"]

    posted: list[str] = []
    lock = threading.Lock()

    members_started, bob_answered = threading.Event(), threading.Event()

    def start_guest(index: int) -> None:
        # The third quarter goes out as the members start, the last once bob has been answered: his call lies
        # within the flood whatever the machine's speed.
        if index >= GUESTS // 2:
            assert members_started.wait(60), "the members never started"
        if index >= GUESTS * 3 // 4:
            assert bob_answered.wait(60), "bob was never answered"
        created = sandbox.post("/_conversations", attributes=guest_attributes(index, alice_sub), text=f"guest {index}")
        # Each flood thread keeps one guest's data action in flight at a time: the live test server (a backlog of
        # ten connections) resets connections beyond that, which production's gunicorn would queue.
        wait_until(lambda: finished_call(sandbox, created["id"]), TIMEOUT + 10, "a guest's data action", interval=0.01)
        with lock:
            posted.append(created["id"])

    started = time.monotonic()
    with ThreadPoolExecutor(FLOOD_THREADS) as pool:
        flood = [pool.submit(start_guest, index) for index in range(GUESTS)]
        wait_until(lambda: len(posted) >= GUESTS // 2, 60, "the first half of the flood")
        members_started.set()
        # Meanwhile: bob's new authenticated chat, carol's in token mode, and bad verifies of alice's conversation
        # with the data action's credentials (bob's sub, an unknown one, bad tokens), then alice's own again.
        bobs = authenticated_conversation(sandbox, bob_jwt, "Hello, bob here")
        bob_answered.set()
        carols_id = sandbox.post("/_conversations", attributes={"memberToken": carol_token}, text="carol")["id"]
        carols = wait_until(lambda: finished_call(sandbox, carols_id), TIMEOUT + 10, "carol's data action")
        bad = [{"sub": bob_sub}, {"sub": str(uuid.uuid4())}]
        bad += [{"memberToken": token} for token in ("x", forged_token, "")]
        answers = [post_to_live(sandbox, live_server, {"conversationId": alices["id"], **body}) for body in bad]
        again = post_to_live(sandbox, live_server, {"conversationId": alices["id"], "sub": alice_sub})
        for future in flood:
            future.result()
    guests = [wait_until(lambda cid=cid: finished_call(sandbox, cid), 120, "a guest's data action") for cid in posted]
    flood_seconds = time.monotonic() - started

    # Both members (and carol) verified by the flow, well inside the data action's timeout.
    for conversation, sub in [(bobs, bob_sub), (carols, carol_sub)]:
        call = conversation["dataActionCalls"][0]
        assert call["status"] == 200 and call["body"]["verified"] == "true", (call.get("error"), call)
        assert call["body"]["memberId"] == sub and call["durationMs"] < TIMEOUT * 1000
        assert conversation["attributes"]["verified"] == {"value": "true", "origin": "server"}
    # The bad verifies were answered "false" and changed nothing; alice's own is still "true".
    assert [(a["verified"], a["pushState"]) for a in answers] == [("false", "none")] * len(bad)
    assert [a["reason"] for a in answers] == [
        "sub_mismatch",
        "unknown_member",
        "malformed",
        "bad_signature",
        "no_token",
    ]
    assert again["verified"] == "true" and again["memberId"] == alice_sub
    alices = sandbox.conversation(alices["id"])
    assert alices["attributes"]["verified"] == {"value": "true", "origin": "server"}
    assert alices["attributes"]["memberId"] == {"value": alice_sub, "origin": "server"}

    # Every guest answered "false" from the request alone, and nothing was pushed to any guest.
    calls = [g["dataActionCalls"][0] for g in guests]
    assert [c["error"] for c in calls if c["status"] != 200] == []
    assert {(c["status"], c["body"]["verified"], c["body"]["pushState"]) for c in calls} == {(200, "false", "none")}
    assert all(g["pushes"] == [] for g in guests)
    # No verified conversation was ever pushed anything unverified; no push names a member token (issue 22).
    for conversation in sandbox.conversations():
        for push in conversation["pushes"]:
            assert push["attributes"]["verified"] == "true", (conversation["id"], push)
            assert "memberToken" not in push["attributes"]
    # Genesys calls during the flood: the members' only. bob's and carol's verifies (a GET and a PATCH each),
    # bob's sub on alice's conversation (the GET that showed someone else), alice's again (GET and PATCH).
    after = sandbox.stats()["requests"]
    spent = {route: after.get(route, 0) - before.get(route, 0) for route in (GET_ROUTE, PATCH_ROUTE)}
    assert spent == {GET_ROUTE: 4, PATCH_ROUTE: 3}

    # Guests' calls in flight (on the sandbox's clock) when bob's began: reported, not asserted (the gates above
    # put his call inside the flood; how many overlap it exactly depends on the machine).
    bob_started = bobs["dataActionCalls"][0]["startedAt"]
    overlapped = sum(c["startedAt"] <= bob_started <= c["finishedAt"] for c in calls)

    durations = sorted(c["durationMs"] for c in calls)
    member_ms = [c["dataActionCalls"][0]["durationMs"] for c in (bobs, carols)]
    print(
        f"\nflood: {GUESTS} guests in {flood_seconds:.1f} s; guest data action median "
        f"{statistics.median(durations):.0f} ms, max {durations[-1]:.0f} ms; bob, carol {member_ms} ms; Genesys "
        f"calls during the flood {spent}; guests in flight as bob's began: {overlapped}"
    )
