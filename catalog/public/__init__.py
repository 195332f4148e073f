"""Pages for the public."""
