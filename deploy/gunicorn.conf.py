"""gunicorn settings for the catalog behind a reverse proxy: `gunicorn -c deploy/gunicorn.conf.py`.

Sync workers: a request is short (a search, a page) and the database does the waiting; one
worker per core plus one keeps the CPUs busy without oversubscribing a small machine. Every
worker keeps its own report and search caches, checked against the catalog revision.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")  # the proxy talks to this
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = "sync"
timeout = 60  # a report export of a province takes seconds, not minutes
graceful_timeout = 30
max_requests = 5000  # recycle workers now and then: bounded memory over months
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "wsgi:app"
