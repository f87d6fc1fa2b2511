"""A sweep's directory: `sweep.json`, one Parquet part file per finished batch (resume), and the
final table written from the parts a window at a time."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from backtest.io import atomic_file, json_safe, remove_stale_temps, temp_path, write_json
from backtest.sweeps.plan import Plan, base_config

TABLE_CHUNK = 1 << 20  # rows of the result table converted and written at a time
CSV_MAX_ROWS = 1_000_000  # results.csv up to this many combinations (10^7 rows: 3 GB of text, 25 s)
PARQUET = {"compression": "lz4"}  # 2-3x faster to write than the default (snappy with dictionaries)


def manifest(plan: Plan) -> dict:
    """sweep.json: what the sweep is (config, grid, sampling, size) and what it ranks by, so its
    directory alone can be reported (`read_manifest`)."""
    return {
        "sweep_id": plan.sweep_id,
        "config": plan.base.source,
        "base_config": base_config(plan),
        "grid": {a.key: a.values for a in plan.axes},
        "samples": plan.samples,
        "seed": plan.seed,
        "metric": plan.metric,
        "combinations": len(plan.combos),
    }


def read_manifest(directory: Path) -> dict:
    """A sweep directory's sweep.json; ValueError (naming the file) where it cannot be read."""
    path = Path(directory) / "sweep.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read it ({exc})") from None


class Store:
    """`<out>/<sweep_id>/`: sweep.json, parts/*.parquet (one per finished batch), results.*"""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.parts = self.root / "parts"

    def open(self, manifest: str) -> None:
        """Create the directory with its sweep.json in one rename (a crash leaves neither or
        both), or refresh sweep.json of an existing one; clear what killed writers left."""
        remove_stale_temps(self.root.parent)
        if not self.root.is_dir():
            self.root.parent.mkdir(parents=True, exist_ok=True)
            tmp = temp_path(self.root)
            tmp.mkdir()
            (tmp / "sweep.json").write_text(manifest)
            try:
                os.replace(tmp, self.root)
            except OSError:  # another process created it first: refresh theirs below
                shutil.rmtree(tmp, ignore_errors=True)
        atomic_file(self.root / "sweep.json", lambda tmp: tmp.write_text(manifest))
        remove_stale_temps(self.root)
        remove_stale_temps(self.parts)

    def done(self, total: int) -> np.ndarray:
        """Whether each of the `total` combinations is already computed (in a part file)."""
        import pyarrow.parquet as pq

        found = np.zeros(total, dtype=np.bool_)
        for path in self.parts.glob("part-*.parquet") if self.parts.is_dir() else []:
            found[pq.read_table(path, columns=["combo"]).column(0).to_numpy()] = True
        return found

    def write_part(self, combo_ids: np.ndarray, stats: np.ndarray, names: list[str], equity=None, dates=None) -> None:
        import pyarrow as pa

        self.parts.mkdir(parents=True, exist_ok=True)
        # named by the batch's first and last combination: a recomputed batch replaces its file
        tag = f"{int(combo_ids[0]):09d}-{int(combo_ids[-1]):09d}"
        if equity is not None:
            folder = self.root / "equity"
            folder.mkdir(parents=True, exist_ok=True)
            columns = {"date": pa.array(np.asarray(dates, dtype="datetime64[ns]"))}
            for i, c in enumerate(combo_ids.tolist()):
                columns[str(c)] = pa.array(equity[i])
            _atomic_parquet(pa.table(columns), folder / f"equity-{tag}.parquet")
        columns = {"combo": pa.array(np.asarray(combo_ids, dtype=np.int64))}
        for j, name in enumerate(names):
            columns[name] = pa.array(stats[:, j])
        _atomic_parquet(pa.table(columns), self.parts / f"part-{tag}.parquet")

    def windows(self, names: list[str], total: int, rows: int | None = None):
        """The statistics of combinations 0..total-1 from the part files, in windows of `rows`
        combinations: (combination indices, (rows, len(names)) statistics). A part is read once,
        when the first window it reaches comes, and dropped after the last; so memory holds a
        window and the parts that span it, whatever the sweep's size. RuntimeError where a
        combination is in no part."""
        import pyarrow.parquet as pq

        rows = rows or TABLE_CHUNK
        files = []  # (first, last, path): parts are named by their first and last combination
        for path in self.parts.glob("part-*.parquet") if self.parts.is_dir() else []:
            first, _, last = path.stem.removeprefix("part-").partition("-")
            if first.isdigit() and last.isdigit():
                files.append((int(first), int(last), path))
        files.sort()
        loaded: list[tuple[int, np.ndarray, np.ndarray]] = []  # (last, combos, stats) of the parts in reach
        following = 0
        for start in range(0, total, rows):
            stop = min(start + rows, total)
            while following < len(files) and files[following][0] < stop:
                first, last, path = files[following]
                table = pq.read_table(path, columns=["combo", *names])
                combos = table.column("combo").to_numpy()
                if len(combos) and (combos.min() < first or combos.max() > last or last >= total):
                    raise RuntimeError(f"{path}: combinations outside {first}..{min(last, total - 1)}")
                stats = np.empty((len(combos), len(names)), order="F")  # column-major: columns copied whole
                for j, name in enumerate(names):
                    stats[:, j] = table.column(name).to_numpy(zero_copy_only=False)
                loaded.append((last, combos, stats))
                following += 1
            window = np.full((stop - start, len(names)), np.nan, order="F")
            found = np.zeros(stop - start, dtype=np.bool_)
            for _, combos, stats in loaded:
                if len(combos) == stop - start and combos[0] == start and combos[-1] == stop - 1:
                    window, found = stats, np.ones(stop - start, dtype=np.bool_)  # one part is the window
                    break
                inside = (combos >= start) & (combos < stop)
                window[combos[inside] - start] = stats[inside]
                found[combos[inside] - start] = True
            if not found.all():
                missing = start + int(np.argmin(found))
                raise RuntimeError(f"sweep {self.root.name}: combination {missing} is in no part file of {self.parts}")
            loaded = [part for part in loaded if part[0] >= stop]
            yield np.arange(start, stop, dtype=np.int64), window


def _atomic_parquet(table, path: Path) -> None:
    import pyarrow.parquet as pq

    atomic_file(path, lambda tmp: pq.write_table(table, tmp, use_dictionary=False, **PARQUET))  # floats rarely repeat


def write_table(plan: Plan, names: list[str], chunks, directory: Path) -> None:
    """results.parquet (and, up to CSV_MAX_ROWS combinations, results.csv), each atomically, from
    chunks (combination indices, statistics) in combination order, a piece at a time (pyarrow
    writers): one row per combination, its swept values then its statistics; a table of 10^7
    rows is never in memory."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    values = [pa.array(column_values(axis.values)) for axis in plan.axes]

    def write(parquet_tmp, csv_tmp=None):
        writers = []
        for combos, stats in chunks:
            columns = {"combo": pa.array(combos)}
            for i, axis in enumerate(plan.axes):
                columns[axis.key] = values[i].take(pa.array(plan.combos[combos, i]))
            for j, name in enumerate(names):
                columns[name] = pa.array(stats[:, j])
            table = pa.table(columns)
            if not writers:
                writers.append(pq.ParquetWriter(parquet_tmp, table.schema, use_dictionary=plan.keys, **PARQUET))  # repeated values: the swept keys
                if csv_tmp is not None:
                    writers.append(pacsv.CSVWriter(csv_tmp, table.schema))
            for writer in writers:
                writer.write_table(table)
        for writer in writers:
            writer.close()

    parquet = directory / "results.parquet"
    if len(plan.combos) > CSV_MAX_ROWS:
        atomic_file(parquet, write)
    else:  # the CSV is renamed into place first, then the Parquet file: both are whole when either is
        atomic_file(parquet, lambda parquet_tmp: atomic_file(directory / "results.csv", lambda csv_tmp: write(parquet_tmp, csv_tmp)))


def column_values(values: list) -> list:
    """Parameter values as a table column: numbers stay numbers, anything else becomes text."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return values
    if all(isinstance(v, bool) for v in values) or all(isinstance(v, str) for v in values):
        return values
    return [v if isinstance(v, str) else json.dumps(v) for v in values]


WALK_FORWARD_FIGURES = ("total_return", "cagr", "sharpe", "max_drawdown")  # per window, in walk_forward.csv


def walk_forward_rows(report: dict) -> list[dict]:
    """One flat row per walk-forward window: its dates, the chosen parameters, and the tuned,
    untuned and benchmark figures over the test window."""
    rows = []
    for w in report["windows"]:
        row = {"train_start": w["train"][0], "train_end": w["train"][1], "test_start": w["test"][0], "test_end": w["test"][1]}
        row.update({key.rsplit(".", 1)[-1]: value for key, value in w["params"].items()})
        row.update({k: v for k, v in w.items() if k.startswith("train_") and k not in row})
        for leg, key in (("tuned", "test_stats"), ("untuned", "untuned_stats"), ("benchmark", "benchmark_stats")):
            if key in w:
                row.update({f"{leg}_{name}": w[key][name] for name in WALK_FORWARD_FIGURES})
        rows.append(row)
    return rows


# walk_forward.json first: `backtest report` shows a walk-forward where that file is
WALK_FORWARD_FILES = ("walk_forward.json", "walk_forward.csv", "walk_forward_equity.csv")


def write_walk_forward(directory: Path, report: dict, equity) -> None:
    """walk_forward.json (the report), walk_forward.csv (`walk_forward_rows`) and
    walk_forward_equity.csv (the stitched curves), each written atomically."""
    import pandas as pd

    report_file, table_file, equity_file = (directory / name for name in WALK_FORWARD_FILES)
    write_json(report_file, json_safe(report))
    atomic_file(table_file, lambda path: pd.DataFrame(walk_forward_rows(report)).to_csv(path, index=False))
    atomic_file(equity_file, equity.to_csv)
