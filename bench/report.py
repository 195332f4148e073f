"""The table `make bench` prints at the end (the JSON in bench/results/ holds everything)."""

from __future__ import annotations


def _cell(value, width: int = 9) -> str:
    return f"{'—' if value is None else value!s:>{width}}"


def print_table(results: dict) -> None:
    box = results["machine"]
    print(f"\n{results['handling_items']:,} handling items · {box['cpu']} · {box['cores']} cores"
          f" · SQLite {box['sqlite']} · load {box['load_average']}")  # fmt: skip
    if "queries" in results:
        print("distinct queries per class:", results["queries"])
    for database in ("sqlite", "postgresql"):
        section = results.get(database)
        if not section:
            continue
        print(f"\n{database}: distinct searches, each once (ms); frame load "
              f"{section['frame_load_ms']} ms")  # fmt: skip
        print(f"{'class':<10}{'app p50':>9}{'app p95':>9}{'app p99':>9}{'in-proc':>9}"
              f"{'DS p95':>9}{'n':>6}{'err':>5}{'cached':>9}")  # fmt: skip
        for name, runs in section["distinct"].items():
            app = runs["app"]
            print(f"{name:<10}{_cell(app['p50'])}{_cell(app['p95'])}{_cell(app['p99'])}"
                  f"{_cell(runs.get('in_process', {}).get('p95'))}"
                  f"{_cell(runs.get('datasette', {}).get('p95'))}{app['n']:>6}"
                  f"{app['errors']:>5}{_cell(section['cached'][name]['p95'])}")  # fmt: skip
        for mix, runs in section["throughput"].items():
            print(f"throughput {mix:<14} app {_cell(runs.get('app', {}).get('rps'))} req/s, "
                  f"Datasette {_cell(runs.get('datasette', {}).get('rps'))} req/s")  # fmt: skip
    decisions = results.get("decisions")
    if decisions:
        print(f"\ndecision search at {decisions['handling_items']:,} handling items (ms), "
              f"queries per class: {decisions['queries']}")  # fmt: skip
        print(f"{'class':<12}{'database':>12}{'p50':>9}{'p95':>9}{'p99':>9}{'n':>6}{'err':>5}")
        for database in ("sqlite", "postgresql"):
            for name, run in decisions.get(database, {}).get("distinct", {}).items():
                print(f"{name:<12}{database:>12}{_cell(run['p50'])}{_cell(run['p95'])}"
                      f"{_cell(run['p99'])}{run['n']:>6}{run['errors']:>5}")  # fmt: skip
    if "growth" in results:
        print(f"\ngrowth run: {results.get('growth_seconds')} s")
    print(f"\n{'target':<66}{'measured':>10}{'limit':>9}  met")
    for target in results["targets"]:
        print(f"{target['target']:<66}{_cell(target['measured'], 10)}"
              f"{_cell(target['limit'])}  {'yes' if target['met'] else 'NO'}")  # fmt: skip
    missed = sum(not target["met"] for target in results["targets"])
    print(f"{len(results['targets'])} targets, {missed} missed; {results['seconds']} s")
