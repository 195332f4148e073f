"""Where a sign-in sends the browser: `next` is a path on this site or nothing.

Each case is a real sign-in (GET the form with `?next=`, POST it with the form's CSRF token
and the right password) and checks the Location header as the response sends it, after
Werkzeug's own conversion of the header (control characters dropped, IRI quoted). The same
checks over a real socket, through gunicorn, are in test_signin_throttle_workers.py.
"""

from __future__ import annotations

import pytest

from catalog.staff.views import safe_next
from tests.staff.conftest import sign_in

HOME = "/staff/"
# The query-string value of `next` as a browser would send it -> where the sign-in goes.
OFF_SITE = {
    "tab then slash": "/%09/evil.com",
    "newline then slash": "/%0a/x",
    "carriage return then slash": "/%0d/x",
    "CRLF (header injection)": "/%0d%0aSet-Cookie:%20x=1",
    "vertical tab": "/%0b/evil.com",
    "C1 control (NEL)": "/%C2%85/evil.com",
    "leading tab": "%09//evil.com",
    "leading space": "%20//evil.com",
    "backslash after slash": "/%5Cevil.com",
    "two backslashes": "/%5C%5Cevil.com",
    "backslashes only": "%5C%5Cevil.com",
    "absolute URL": "https://evil.com",
    "absolute URL, no slashes": "https:evil.com",
    "javascript": "javascript:alert(1)",
    "protocol-relative": "//evil.com",
    "three slashes": "///evil.com",
    "encoded slashes (decoded once to ///evil.com)": "/%2F%2Fevil.com",
    "ideographic space first": "%E3%80%80//evil.com",
    "no-break space first": "%C2%A0//evil.com",
    "ideographic space after slash": "/%E3%80%80/evil.com",
    "line separator after slash": "/%E2%80%A8/evil.com",
    "zero-width space after slash": "/%E2%80%8B/evil.com",
    "right-to-left override": "/%E2%80%AEmoc.live//",
    "relative path": "staff/audit",
    "empty": "",
}
ON_SITE = {
    "a staff page": ("/staff/audit", "/staff/audit"),
    "with a query": ("/staff/%3Fstatus%3Dpublished%26q%3Dx", "/staff/?status=published&q=x"),
    "Chinese in the query, quoted on the way out": (
        "/staff/%3Fq%3D%E9%81%93%E8%B7%AF",
        "/staff/?q=%E9%81%93%E8%B7%AF",
    ),
    "doubly encoded slashes stay a path here": ("/%252F%252Fevil.com", "/%2F%2Fevil.com"),
}


@pytest.mark.parametrize("query", OFF_SITE.values(), ids=list(OFF_SITE))
def test_a_next_off_this_site_signs_in_to_the_staff_home(client, accounts, query):
    response = sign_in(client, "editor1", next_path=query)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.headers["Location"] == HOME


@pytest.mark.parametrize(("query", "location"), ON_SITE.values(), ids=list(ON_SITE))
def test_a_next_on_this_site_is_kept(client, accounts, query, location):
    response = sign_in(client, "editor1", next_path=query)
    assert response.status_code == 302
    assert response.headers["Location"] == location


def test_the_refused_page_sends_back_to_where_it_was(client, accounts, catalog_item):
    """The whole road: a page that needs a sign-in, the form, and back to that page."""
    refused = client.get("/staff/items/A?tab=history")
    assert refused.status_code == 302
    form = refused.headers["Location"]
    assert form.startswith("/staff/login?next=")
    response = sign_in(client, "editor1", next_path=form.split("next=", 1)[1])
    assert response.headers["Location"] == "/staff/items/A?tab=history"


@pytest.mark.parametrize(
    "target",
    ["/\t/evil.com", "/\\evil.com", "//evil.com", " /x", "/\u3000/x", "/x\x7f", "/a b", "", None],
)
def test_safe_next_refuses_before_and_after_the_header_conversion(app, target):
    with app.test_request_context():
        assert safe_next(target) == HOME


def test_safe_next_keeps_a_path_and_quotes_it_for_the_header(app):
    with app.test_request_context():
        assert safe_next("/staff/items/A") == "/staff/items/A"
        assert safe_next("/staff/?q=港口") == "/staff/?q=%E6%B8%AF%E5%8F%A3"
        assert safe_next(safe_next("/staff/?q=港口")) == safe_next("/staff/?q=港口")
