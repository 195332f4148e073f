"""Every page names its JSON twin: in a Link header, and visibly in the page."""

from __future__ import annotations

from flask import Flask, Response, request


def json_twin(url: str) -> str:
    """Mark `url` as the JSON twin of the page being rendered; returns it for the template."""
    request.json_twin = url
    return url


def _link_header(response: Response) -> Response:
    twin = getattr(request, "json_twin", None)
    if twin:
        response.headers["Link"] = f'<{twin}>; rel="alternate"; type="application/json"'
    return response


def init_app(app: Flask) -> None:
    app.after_request(_link_header)
