"""Response headers that keep hostile catalog text inert: a strict Content-Security-Policy (no
inline script or style anywhere, so text that slips into markup still cannot run), no MIME
sniffing, no framing, no referrer leaks to other sites; HSTS only on requests that came by HTTPS.

Every response gets them: pages, error pages, the JSON API, downloads and static files.
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # data: for the empty favicon in base.html
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def set_security_headers(response: Response) -> Response:
    """Add the headers a view has not set itself."""
    headers = response.headers
    # What Headers.setdefault does for each, with one look at the headers instead of a failed
    # (exception-raising) lookup per header: this runs on every response.
    present = {name.lower() for name, _value in headers.items()}
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in present:
            headers.add(name, value)
    if request.is_secure and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


def init_app(app: Flask) -> None:
    app.after_request(set_security_headers)
