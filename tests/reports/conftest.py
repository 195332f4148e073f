"""Report tests sign in as staff too: the staff fixtures, shared."""

from tests.staff.conftest import accounts, fresh_limits, login_as  # noqa: F401
