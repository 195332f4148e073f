"""README's benchmark tables from a results file, so that what README quotes is what was measured.

    .venv/bin/python bench/readme_table.py [bench/results/latest.json]

prints Markdown: the run, the distinct searches per class on both databases against Datasette,
every other judged target, and the missed ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
DATABASES = ("sqlite", "postgresql")


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _p95(summary: dict | None) -> str:
    return _number((summary or {}).get("p95"))


def _source_name(results: dict) -> str:
    """The timestamped file a latest.json copies (same finish time and size)."""
    stamp = results.get("finished_at", "")[:19].replace("-", "").replace(":", "").replace("T", "-")
    return f"bench/results/{stamp}-{results.get('handling_items')}.json"


def searches(results: dict) -> list[str]:
    classes = list(next((results[d]["distinct"] for d in DATABASES if d in results), {}))
    lines = [
        "| class (distinct, each once) | SQLite: app p95 | Datasette p95 | PostgreSQL: app p95"
        " | Datasette p95 | cached p95 (SQLite / PostgreSQL) |",
        "|---|---|---|---|---|---|",
    ]
    for name in classes:
        cells = []
        for database in DATABASES:
            row = results.get(database, {}).get("distinct", {}).get(name, {})
            cells += [_p95(row.get("app")), _p95(row.get("datasette"))]
        cached = " / ".join(_p95(results.get(d, {}).get("cached", {}).get(name)) for d in DATABASES)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {cached} |")
    return lines


def targets(results: dict, *, kinds_left_out: tuple[str, ...] = ("search",)) -> list[str]:
    lines = ["| target | measured | limit | met |", "|---|---|---|---|"]
    for row in results.get("targets", []):
        if row["kind"] in kinds_left_out and row["cache"] == "distinct":
            continue  # the table above, and the floor ratios counted in the run's line
        if row["kind"] == "search" and row["cache"] == "cached":
            continue  # the cached column of the table above
        met = "yes" if row["met"] else "**no**"
        lines.append(
            f"| {row['target']} | {_number(row['measured'])} | {_number(row['limit'])} | {met} |"
        )
    return lines


def main(path: str) -> int:
    results = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = results.get("targets", [])
    missed = [row for row in rows if not row["met"]]
    floor = [row for row in rows if row["kind"] == "search" and "/ in-process" in row["target"]]
    machine = results.get("machine", {})
    print(
        f"Latest run (`{_source_name(results)}`, finished {results.get('finished_at')}, "
        f"{results.get('handling_items'):,} handling items, {machine.get('cores')}-core "
        f"{machine.get('cpu')}, Python {machine.get('python')}, SQLite {machine.get('sqlite')}; "
        f"{results.get('seconds')} s): {len(rows)} targets, {len(missed)} missed. "
        f"Search p95 in ms; the app's p95 ≤ 3 × its in-process p95 of the same rounds: met in "
        f"{sum(row['met'] for row in floor)} of {len(floor)} classes."
    )
    print()
    print("\n".join(searches(results)))
    print()
    print("\n".join(targets(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(RESULTS / "latest.json")))
