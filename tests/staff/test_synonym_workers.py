"""A synonym added on the staff page is used at once by every worker of a real gunicorn with
two sync worker processes, without a restart: each worker keeps the list in memory and reads it
again when the catalog's revision moves (catalog.search.synonyms)."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import socket
import time

from tests.staff.test_concurrent_workers import server  # noqa: F401
from tests.workers import TIMEOUT, Browser

QUERY = "/api/v1/items?q=%E6%BB%B4%E6%BB%B4"  # 滴滴: in no item, no seed synonym
ACCESS = re.compile(r"access pid=<?(\d+)>? race=(\S+) status=200")


def totals_from_both_workers(port: int, log, tag: str) -> set[int]:
    """Search until both workers have answered (the access log names each answer's worker);
    the totals they gave. Every other search is sent while an idle connection holds one worker
    (a sync worker waits for that connection's request), so the other one answers."""
    browser, totals = Browser(port), set()
    deadline = time.monotonic() + TIMEOUT
    for attempt in itertools.count():
        with contextlib.ExitStack() as stack:
            if attempt % 2:
                stack.enter_context(socket.create_connection(("127.0.0.1", port)))
                time.sleep(0.1)  # accepted by a worker, which now waits for a request
            status, _location, body = browser.request("GET", QUERY, race=tag)
        assert status == 200, body
        totals.add(json.loads(body)["total"])
        workers = {pid for pid, race in ACCESS.findall(log.read_text()) if race == tag}
        if len(workers) == 2:
            return totals
        assert time.monotonic() < deadline, log.read_text()[-1500:]
    raise AssertionError("unreachable")


def test_every_worker_uses_a_new_synonym_at_once(server):  # noqa: F811
    port, log, _engine = server
    assert totals_from_both_workers(port, log, "before") == {0}  # both have read the list
    editor = Browser(port)
    editor.sign_in("editor_a")
    page = editor.request("GET", "/staff/synonyms")[2]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    fields = {"csrf_token": token, "term": "滴滴", "target": "网络预约出租汽车"}
    status, location, body = editor.request("POST", "/staff/synonyms", fields)
    assert (status, location) == (302, "/staff/synonyms"), body
    totals = totals_from_both_workers(port, log, "after")
    assert len(totals) == 1 and totals.pop() > 0  # every answer of either worker finds it
