"""Named permission checks; every staff view declares one (a test walks them all)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user

from catalog.auth_log import record_auth_event
from catalog.models import AuthEventKind, Role, User


def can_edit(user: User) -> bool:
    """Edit drafts, create items: every staff role."""
    return user.role.includes(Role.editor)


def can_publish(user: User) -> bool:
    """Publish and retire: reviewers and admins."""
    return user.role.includes(Role.reviewer)


def can_manage_accounts(user: User) -> bool:
    return user.role.includes(Role.admin)


# What each check allows, in the words of the sign-in log ("需要权限：管理账号").
PERMISSION_LABELS = {
    "can_edit": "编辑",
    "can_publish": "发布与停用",
    "can_manage_accounts": "管理账号",
}


def requires(permission: Callable[[User], bool]):
    """Sign-in required, then `permission`; refusals are logged with who, what and from where."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                record_auth_event(AuthEventKind.access_refused, detail="未登录")
                return redirect(url_for("staff.login", next=request.full_path))
            if not permission(current_user):
                record_auth_event(
                    AuthEventKind.access_refused,
                    current_user.username,
                    detail=f"角色：{current_user.role.label}，需要权限："
                    + PERMISSION_LABELS.get(permission.__name__, permission.__name__),
                )
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = permission
        return wrapped

    return decorator
