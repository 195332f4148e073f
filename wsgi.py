"""The WSGI entry point: `flask --app wsgi ...`, gunicorn wsgi:app."""

from catalog import create_app
from catalog.templating import compile_templates

app = create_app()
# (each gunicorn worker imports this module: preload_app is off, see deploy/gunicorn.conf.py)
compile_templates(app)
