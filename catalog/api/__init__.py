"""The JSON API: every public page has a twin here."""
