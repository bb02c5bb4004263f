"""Compare two sets of runs of the benchmark suite: before and after a change.

Each run is a JSON file written by ``benchmarks/run.py --json``. For every tapeflow row
this prints the ratio each run measured (the suite's own ratio: to autograd, to the
hand-written numpy step, hvp to grad, or microseconds over numpy), the change of the
median, and the spread of the runs before (max - min over the median): a change within
that spread is noise. Run the two versions alternately on the same machine, for
example the old commit from a second worktree:

    git worktree add ../before <commit>
    for i in 1 2 3; do
        (cd ../before && python benchmarks/run.py --json /tmp/before$i.json)
        python benchmarks/run.py --json /tmp/after$i.json
    done
    python benchmarks/compare.py --before /tmp/before*.json --after /tmp/after*.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

__all__ = ["compare", "main"]

_METRICS = ("ratio_to_autograd", "ratio_to_numpy", "ratio_hvp_to_grad", "over_numpy_us")


def _metric(row: dict[str, Any]) -> tuple[str, float] | None:
    for name in _METRICS:
        if name in row:
            return name, float(row[name])
    return None


def _rows(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    results = json.loads(path.read_text())["results"]
    return {(r["workload"], r["impl"]): r for r in results}


def compare(before: list[Path], after: list[Path]) -> list[dict[str, Any]]:
    """One entry per tapeflow row present in every run: the metric's values and changes."""
    runs_before = [_rows(p) for p in before]
    runs_after = [_rows(p) for p in after]
    out = []
    for key, row in runs_before[0].items():
        found = _metric(row)
        if not key[1].startswith("tapeflow") or found is None:
            continue
        if not all(key in run for run in runs_before + runs_after):
            continue
        name = found[0]
        b = [float(run[key][name]) for run in runs_before]
        a = [float(run[key][name]) for run in runs_after]
        mid = statistics.median(b)
        out.append(
            {
                "workload": key[0],
                "impl": key[1],
                "metric": name,
                "before": b,
                "after": a,
                "change": statistics.median(a) / mid - 1,
                "spread_before": (max(b) - min(b)) / mid,
            }
        )
    return out


def _number(x: float) -> str:
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, nargs="+", required=True)
    parser.add_argument("--after", type=Path, nargs="+", required=True)
    parser.add_argument("--json", type=Path, help="also write the comparison here")
    args = parser.parse_args(argv)
    rows = compare(args.before, args.after)
    print("| workload | implementation | measure | before | after | change | spread before |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        before = ", ".join(_number(x) for x in r["before"])
        after = ", ".join(_number(x) for x in r["after"])
        print(
            f"| {r['workload']} | {r['impl']} | {r['metric'].replace('_', ' ')} | {before} | "
            f"{after} | {r['change']:+.1%} | {r['spread_before']:.1%} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
