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
"""

import multiprocessing
import os

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
