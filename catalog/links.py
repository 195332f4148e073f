"""The 在线办理 address of a handling item: the one rule for what an address may be, read by
the item schema (catalog.schemas), so the staff forms, the API, the importer and the seed all
refuse the same addresses with the same Chinese message."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

ONLINE_URL_LABEL = "在线办理地址"
MAX_URL_CHARS = 500
SCHEMES = ("http", "https")
# white space of any kind, control characters, lone surrogates: none belongs in an address
_REFUSED_CHARACTERS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def online_url_problem(value: str) -> str | None:
    """Why `value` is not an address staff may publish (a Chinese sentence naming the field),
    or None when it is one: http or https, a host, no user name or password, no white space or
    control character, at most MAX_URL_CHARS characters."""
    if len(value) > MAX_URL_CHARS:
        return f"{ONLINE_URL_LABEL}不能超过{MAX_URL_CHARS}个字符。"
    if _REFUSED_CHARACTERS.search(value):
        return f"{ONLINE_URL_LABEL}不能包含空格、换行或控制字符。"
    if "\\" in value:
        return f"{ONLINE_URL_LABEL}不是有效的网址。"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (a port out of range or not a number raises here)
    except ValueError:
        return f"{ONLINE_URL_LABEL}不是有效的网址。"
    if parts.scheme.lower() not in SCHEMES or not value.lower().startswith(
        tuple(f"{scheme}://" for scheme in SCHEMES)
    ):
        return f"{ONLINE_URL_LABEL}须以 http:// 或 https:// 开头。"
    if "@" in parts.netloc:
        return f"{ONLINE_URL_LABEL}不能包含用户名或密码。"
    if not parts.hostname:
        return f"{ONLINE_URL_LABEL}须包含网站域名，如 https://www.hnzwfw.gov.cn/。"
    return None
