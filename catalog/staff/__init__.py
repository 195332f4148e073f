"""Pages for bureau staff: sign-in, editing, review, the audit trail."""
