"""Read a form off a page as a browser would submit it, so tests post what people post."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, action: str):
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("action") == self.action
        if not self.inside or ("name" not in attrs and tag != "option"):
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields.append((attrs["name"], attrs.get("value", "y")))
            elif kind not in ("submit", "button", "file"):
                self.fields.append((attrs["name"], attrs.get("value") or ""))
        elif tag == "select":
            self._select = attrs["name"]
            self._chosen = False
            self.fields.append((self._select, ""))
        elif tag == "option" and self._select:
            first = self.fields[-1][1] == "" and not self._chosen
            if "selected" in attrs or first:  # no selected option: the first one is sent
                self.fields[-1] = (self._select, attrs.get("value", ""))
                self._chosen = self._chosen or "selected" in attrs
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.fields.append((self._textarea, ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            name, value = self.fields[-1]
            if not value:  # browsers drop the newline that opens a textarea's content
                data = data.removeprefix("\r\n").removeprefix("\n")
            self.fields[-1] = (name, value + data)


def read_form(html: str, action: str) -> list[tuple[str, str]]:
    """(name, value) pairs of the form posting to `action`, as a browser would send them."""
    reader = _FormReader(action)
    reader.feed(html)
    return reader.fields


def submit(client, page_path: str, action: str, changes: dict[str, object], button: str):
    """Open the page, fill the form with `changes`, press the named button."""
    fields = read_form(client.get(page_path).get_data(as_text=True), action)
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value if isinstance(value, list) else [str(value)]
    data["action"] = [button]
    return client.post(action, data=data)
