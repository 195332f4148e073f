"""Who performs an operation: a signed-in staff member, or a command run on the server."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.domain import NotAllowed
from catalog.models import Role, User

COMMAND_LINE = "cli"  # the actor of commands (flask import-items, snapshot create, ...)


@dataclass(frozen=True)
class Actor:
    """A name for the audit trail and a role for the permission checks. A command has no
    role: whoever runs it on the server already holds the database."""

    name: str
    role: Role | None = None

    @classmethod
    def of(cls, who: User | Actor | str) -> Actor:
        if isinstance(who, Actor):
            return who
        if isinstance(who, User):
            return cls(who.username, who.role)
        return cls(who)

    @property
    def is_command(self) -> bool:
        return self.role is None

    def require(self, role: Role, message: str) -> None:
        """Refuse (403) unless this actor's role includes `role`; commands may do anything."""
        if self.role is not None and not self.role.includes(role):
            raise NotAllowed(message)
