"""gunicorn settings for the catalog: `gunicorn -c deploy/gunicorn.conf.py`.

gevent workers, so that slow clients cannot take the workers, with or without a reverse proxy
in front (issue 20; docs/security.md, *Slow clients*). Each connection is a greenlet of a
worker, and a client that has not sent a request's line and headers within `keepalive` seconds
is disconnected (the gevent worker reads every request's headers under that timeout): 20
connections trickling their headers a byte a second leave a normal request answered in
milliseconds (tests/deploy/test_slow_clients.py). With the sync workers used before, two such
connections held both workers until the worker timeout killed them (a normal request waited
32.9 s); gthread workers stall once the tricklers outnumber the threads, as a thread blocks
reading a trickler's headers with no deadline.

The database waits cooperate: psycopg 3 sees gevent's patched `select` and waits through it, so
a worker serves other requests while PostgreSQL answers one; SQLAlchemy's pool and the app's
locks are gevent's after the patching. The patching happens in each worker before it imports
the app, which is why `preload_app` must stay off. On SQLite a query does not yield, so a
worker's greenlets take turns on the file. Rendering and the search are CPU work that no
greenlet yields in, so processes still bring the parallelism: one worker per core plus one.
Every worker keeps its own report and search caches, checked against the catalog revision.

A gevent worker alone runs every request it holds at once, each holding a pooled database
connection to its end: under `make load` (25 readers a worker, editors publishing) the pool of
5 + 10 ran out and 37 requests got 503 after its 10 s wait. So at most APP_SLOTS requests of a
worker run the app at once, as many as the 4 threads it was load-tested with before, and the
others wait for a slot (a waiting greenlet costs nothing; `make load` then had no 5xx). A
request's body is read before it takes a slot, within BODY_SECONDS (else 408), so that clients
sending their bodies slowly cannot hold the slots either; a body larger than a form (an upload)
waits for one of UPLOAD_SLOTS first, so that bodies read ahead cannot fill the disk.
"""

import multiprocessing
import os
import tempfile
from contextlib import ExitStack

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # the proxy talks to this
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = "gevent"
# Connections one worker holds at once, kept-alive and half-sent ones included: far above a
# bureau's readers, and a bound on the memory that half-sent headers can take (see below).
worker_connections = 500
# Seconds a client has to send a request's line and headers, and an idle kept-alive connection
# stays open; nginx's upstream keepalive_timeout (deploy/nginx.conf) is shorter.
keepalive = 5
timeout = 60  # a report export of a province takes seconds, not minutes
graceful_timeout = 30
# A request's line and headers: the catalog's URLs stay far below 4,094 bytes (a search is at
# most 100 characters, 900 bytes percent-encoded; a cursor a few dozen); a browser behind a
# proxy sends 20-30 headers. At most 50 x 8,190 bytes are buffered for a connection's headers.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
max_requests = 5000  # recycle workers now and then: bounded memory over months
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "wsgi:app"

# requests of one worker in the app at once; SQLAlchemy pools 5 connections and 10 more when
# busy; a 双公示 search holds two on PostgreSQL (its two kinds at once: listing._kind_pages)
APP_SLOTS = 4
# Seconds to send a request's body: a 12 MB upload at 1.6 Mbit/s.
BODY_SECONDS = int(os.environ.get("GUNICORN_BODY_SECONDS", 60))
FORM_BYTES = 64 * 1024  # a body up to this (any form but an upload's) is read ahead in memory
UPLOAD_SLOTS = 1  # larger bodies a worker reads ahead at once, each into a temporary file
BODY_LIMIT = 16 * 1024 * 1024  # bytes read ahead at most: the app refuses over 12 MB itself


def post_worker_init(worker):
    """Admit a gevent worker's requests to the app APP_SLOTS at a time, bodies read first."""
    import gevent
    from gevent import monkey
    from gevent.lock import BoundedSemaphore

    if not monkey.is_module_patched("socket"):
        return  # another worker class, given on the command line
    app = worker.wsgi
    app_slots, upload_slots = BoundedSemaphore(APP_SLOTS), BoundedSemaphore(UPLOAD_SLOTS)

    def admitted(environ, start_response):
        with ExitStack() as request:  # its body and upload slot kept until the app has answered
            length = _body_length(environ)
            if length:
                try:
                    with gevent.Timeout(BODY_SECONDS):
                        if length > FORM_BYTES:  # bounds the disk that bodies read ahead take
                            request.enter_context(upload_slots)
                        body = request.enter_context(_read_ahead(environ["wsgi.input"]))
                except gevent.Timeout:
                    start_response("408 Request Timeout", [("Content-Type", "text/plain")])
                    return [b"408 Request Timeout: the request body was sent too slowly.\n"]
                environ["wsgi.input"] = body
            with app_slots:
                return app(environ, start_response)

    worker.wsgi = admitted


def _body_length(environ) -> int:
    """The length of a request's body to read ahead: 0 for none, or one over BODY_LIMIT (the
    app refuses it unread); BODY_LIMIT for a chunked body, whose length is not known."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return BODY_LIMIT
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return length if length <= BODY_LIMIT else 0


def _read_ahead(stream):
    """The rest of `stream` (BODY_LIMIT + 1 bytes at most) as a file positioned at its start."""
    body = tempfile.SpooledTemporaryFile(max_size=FORM_BYTES)  # noqa: SIM115 (the caller's)
    try:
        remaining = BODY_LIMIT + 1
        while remaining > 0 and (chunk := stream.read(min(64 * 1024, remaining))):
            body.write(chunk)
            remaining -= len(chunk)
        body.seek(0)
    except BaseException:
        body.close()
        raise
    return body
