"""benchmarks/compare.py: before/after tables from the suite's JSON files."""

import json

import benchmarks.compare as compare


def _run(path, scalar_ratio, step_ratio):
    rows = [
        {
            "workload": "per-op, scalar",
            "impl": "tapeflow",
            "median": 2.0,
            "ratio_to_autograd": scalar_ratio,
        },
        {
            "workload": "per-op, scalar",
            "impl": "autograd 1.9",
            "median": 10.0,
            "ratio_to_autograd": 1.0,
        },
        {
            "workload": "lab step",
            "impl": "tapeflow jit",
            "median": 1.2,
            "ratio_to_numpy": step_ratio,
        },
    ]
    path.write_text(json.dumps({"environment": {}, "notes": [], "results": rows}))
    return path


def test_changes_and_spreads_are_computed_per_tapeflow_row(tmp_path, capsys):
    before = [_run(tmp_path / f"b{i}.json", r, 1.10) for i, r in enumerate((0.16, 0.20, 0.18))]
    after = [_run(tmp_path / f"a{i}.json", r, 1.21) for i, r in enumerate((0.18, 0.18, 0.19))]
    rows = compare.compare(before, after)
    assert [(r["workload"], r["impl"]) for r in rows] == [
        ("per-op, scalar", "tapeflow"),
        ("lab step", "tapeflow jit"),
    ]
    scalar, step = rows
    assert abs(scalar["change"]) < 1e-12 and abs(scalar["spread_before"] - 0.04 / 0.18) < 1e-12
    assert abs(step["change"] - 0.1) < 1e-12 and step["spread_before"] == 0.0
    assert compare.main(["--before", *map(str, before), "--after", *map(str, after)]) == 0
    assert (
        "| lab step | tapeflow jit | ratio to numpy | 1.100, 1.100, 1.100 |"
        in capsys.readouterr().out
    )
