"""Every write of the catalog's staff side, in one package that forms, the CLI and the importer
all call: items.py (create, save a draft, submit, return, publish, discard, retire),
imports.py (apply an import's plan), snapshots.py (freeze a report), accounts.py (account
changes). Each operation checks who may do it and the version it was based on, writes its audit
record in the same transaction and flushes; only the edge (catalog.edge) commits.
"""
