"""The WSGI entry point: `flask --app wsgi ...`, gunicorn wsgi:app."""

# Imported here rather than by a worker's first request: werkzeug encodes the Host with the
# IDNA codec to bind the URL map, and its import took 5 of a first comparison's 22 ms.
import encodings.idna  # noqa: F401
import gc
import logging
import os

from catalog import create_app
from catalog.reports.warm import served_by_gunicorn, warm_statements
from catalog.search.text import pinyin_of
from catalog.templating import compile_templates

app = create_app()
# (each gunicorn worker imports this module: preload_app is off, see deploy/gunicorn.conf.py)
if served_by_gunicorn():  # not in a flask command: it renders no page (compiling them all
    # took 0.8 of a `flask report`'s 3.5 s), and it may be the one that migrates
    compile_templates(app)
    pinyin_of("许昌")  # loads pypinyin's dictionaries (0.3 s), which a first search reads
    warm_statements(app)  # before the worker's first request, not beside it
    # What the worker has made so far (the app, pypinyin's dictionaries, the templates: some
    # 355,000 objects) lives as long as it does: out of the collector's generations, a full
    # collection no longer scans them each time (100 ms, landing in whichever request was
    # allocating; 5 ms after). docs/search-speed.md, *The collector*.
    gc.freeze()
    # gunicorn logs "Booting worker" when it forks, seconds before the app is loaded and warm:
    # this line says when the worker serves (the tests' servers wait for it, tests/workers.py)
    logging.getLogger("gunicorn.error").info("Worker ready (pid: %s)", os.getpid())
