"""Two real deliverer processes drain one PostgreSQL outbox: every action goes out exactly once.

`undelivered_actions` locks its rows `FOR UPDATE SKIP LOCKED`, so a second process passes over
the rows the first is delivering. Each claim holds its transaction open a little while (as a
delivery would) so the processes really overlap. SQLite deployments run a single deliverer.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.storage import models, repo

DELIVERER = """
import json, sys, time
from sqlalchemy.orm import Session
from kefu.storage import repo
from kefu.storage.db import make_engine

engine = make_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # start together
delivered = []
while True:
    with Session(engine) as s, s.begin():
        claimed = repo.undelivered_actions(s, 5)
        if not claimed:
            break
        time.sleep(0.01)  # "delivering" while the rows stay locked
        delivered += [a.seq for a in claimed]
        repo.mark_delivered(s, [a.seq for a in claimed])
print(json.dumps(delivered), flush=True)
engine.dispose()
"""


@pytest.mark.backends("postgresql")
def test_two_deliverer_processes_never_send_the_same_action(db_url: str, db_engine) -> None:
    with Session(db_engine) as s, s.begin():
        rows = [repo.ActionRow(store=f"s{i % 3}", key=f"k{i}", ts_ms=i, type="urge.send",
                               payload="{}") for i in range(300)]  # fmt: skip
        repo.put_actions(s, rows)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", DELIVERER, db_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    a, b = (json.loads(o.strip().splitlines()[-1]) for o in outputs)
    assert not set(a) & set(b)
    assert sorted(a + b) == list(range(1, 301))
    assert a and b  # both really worked
    with Session(db_engine) as s:
        pending = select(models.Action).where(models.Action.delivered_ms.is_(None))
        assert s.scalars(pending).all() == []
