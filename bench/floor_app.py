"""The floor of HTTP cost: a minimal Flask JSON endpoint, served like the app (gunicorn, one
sync worker), so the benchmark can tell the framework and server's share from the app's."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify({"items": [], "total": 0})
