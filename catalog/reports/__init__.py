"""Reform audit reports: figures with provenance, breakdowns, snapshots and exports."""
