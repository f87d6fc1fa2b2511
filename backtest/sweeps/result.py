"""A finished sweep: its ranking in memory, its table on disk (or in memory), read in pieces."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backtest.errors import ConfigError
from backtest.sweeps.plan import Plan
from backtest.display import lowest_first
from backtest.sweeps.ranking import Ranking
from backtest.sweeps import store
from backtest.sweeps.store import column_values


@dataclass
class SweepResult:
    """A finished sweep. Its full table is `directory/results.parquet`, or for a sweep run
    without an output directory the `stats` matrix; in memory it always keeps `ranking`, the best
    combinations by the metric (`top` of them, at least) and the moments of the deflated ratios,
    so a sweep of 10^7 combinations needs no more memory for its results than one of 10^3."""

    plan: Plan
    names: list[str]  # statistic columns
    computed: int  # combinations computed by this call (the rest were resumed)
    directory: Path | None
    ranking: Ranking
    stats: np.ndarray | None = None  # (C, S) in combination order: only without a directory
    guard_rails: dict = field(default_factory=dict)  # deflated Sharpe ratios, split, walk-forward (`backtest.sweep`)
    notes: list[str] = field(default_factory=list)  # one-line notices (the GPU not used, the registry, ...)
    heatmap_path: Path | None = None  # the heatmap PNG, where one was drawn

    @property
    def combinations(self) -> int:
        return len(self.plan.combos)

    def __repr__(self) -> str:
        """One line (the dataclass's own would print the plan's every array)."""
        axes = " x ".join(f"{a.key.rsplit('.', 1)[-1]} ({len(a.values)})" for a in self.plan.axes)
        best = ""
        order = self.order()
        if len(order):
            record = self.record(int(order[0]))
            value = record["stats"].get(self.plan.metric)
            params = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in record["params"].items())
            best = f"; best {self.plan.metric} {value:.4g} at {params}" if isinstance(value, float) else f"; best at {params}"
        where = f", table in {self.directory}" if self.directory is not None else ""
        return f"<SweepResult {self.plan.sweep_id}: {self.combinations:,} combinations over {axes}{best}{where}>"

    def chunks(self, names: list[str] | None = None, rows: int | None = None):
        """(combination indices, (rows, len(names)) statistics) of every combination, a chunk at
        a time in combination order: from the table written, or from memory."""
        names = list(self.names if names is None else names)
        rows = rows or store.TABLE_CHUNK
        if self.stats is not None:
            columns = [self.names.index(name) for name in names]
            for start in range(0, self.combinations, rows):
                stop = min(start + rows, self.combinations)
                yield np.arange(start, stop, dtype=np.int64), self.stats[start:stop, columns]
            return
        import pyarrow.parquet as pq

        table = pq.ParquetFile(self.directory / "results.parquet")
        for batch in table.iter_batches(batch_size=rows, columns=["combo", *names]):
            figures = [batch.column(i).to_numpy(zero_copy_only=False) for i in range(1, batch.num_columns)]
            yield batch.column(0).to_numpy(), np.column_stack(figures) if figures else np.empty((batch.num_rows, 0))

    def frames(self, columns: list[str], with_combo: bool = False):
        """DataFrames of just these swept keys and statistics (and the combination number), a
        chunk of combinations at a time."""
        import pandas as pd

        keys = [name for name in columns if name in self.plan.keys]
        figures = [name for name in columns if name not in keys]
        values = {key: pd.Series(column_values(self.plan.axes[self.plan.keys.index(key)].values)).to_numpy() for key in keys}
        for combos, stats in self.chunks(figures):
            data = {"combo": combos} if with_combo else {}
            data.update({key: values[key][self.plan.combos[combos, self.plan.keys.index(key)]] for key in keys})
            data.update(zip(figures, stats.T))
            yield pd.DataFrame(data, columns=(["combo"] if with_combo else []) + list(columns))

    @property
    def table(self):
        """Every combination as one DataFrame (index: combination number): the swept keys, then
        the statistics. Read from the table written (a sweep of 10^7 rows is large: see
        `frames` for pieces)."""
        import pandas as pd

        frames = list(self.frames(self.plan.keys + self.names, with_combo=True))
        return pd.concat(frames).set_index("combo") if frames else pd.DataFrame(columns=self.plan.keys + self.names)

    def best(self, k: int = 10):
        """The best `k` combinations by the metric (lowest first where lower is better: see
        `display.lowest_first`; NaN last; ties in combination order), as a
        DataFrame like `table` (k at most what the sweep kept ranked)."""
        import pandas as pd

        rows = {}
        for c in self.order()[:k].tolist():
            record = self.record(int(c))
            rows[int(c)] = {**record["params"], **record["stats"]}
        return pd.DataFrame.from_dict(rows, orient="index", columns=self.plan.keys + self.names).rename_axis("combo")

    @property
    def deflated_sharpe(self) -> dict | None:
        """The winner's deflated Sharpe ratio (see `backtest.sweeps.guards`), where computed."""
        return self.guard_rails.get("deflated_sharpe")

    def heatmap(self, x: str, y: str, metric: str | None = None):
        """The metric (default: the sweep's) over two swept keys (a key or a unique last part,
        e.g. "tilt") as a DataFrame, y values as rows and x values as columns; where other keys
        were swept too, the best value over them."""
        from backtest.sweeps.plan import resolve_key

        metric = metric or self.plan.metric
        x, y = resolve_key(self.plan, x), resolve_key(self.plan, y)
        if x == y:
            raise ConfigError("--heatmap: give two different swept keys")
        axis_values = {a.key: column_values(a.values) for a in self.plan.axes}
        grid = metric_grid(self.frames([x, y, metric]), x, y, metric)
        return grid.reindex(index=axis_values[y], columns=axis_values[x])

    def order(self) -> np.ndarray:
        """The ranked combinations (the best `top` at least), best by the metric first (NaN last)."""
        return self.ranking.order()

    def records(self):
        """{"params": {...}, "stats": {...}} of every combination in order, JSON-ready (NaN ->
        None), one at a time."""
        for combos, stats in self.chunks():
            for c, figures in zip(combos.tolist(), stats.tolist()):
                yield self._record(c, figures)

    def record(self, c: int) -> dict:
        """{"params": {...}, "stats": {...}} of combination c, a ranked one (or any, in memory)."""
        if self.stats is not None:
            return self._record(c, self.stats[c].tolist())
        top = self.ranking.top
        rows = np.flatnonzero(top["combo"].to_numpy() == c)
        if not len(rows):
            raise KeyError(f"combination {c} is not among the {len(top)} ranked ones; read it from {self.directory / 'results.parquet'}")
        return self._record(c, top.loc[rows[0], self.names].to_numpy(dtype=float).tolist())

    def _record(self, c: int, figures: list[float]) -> dict:
        from backtest.io import json_safe
        from backtest.stats import COUNT_STATS

        stats = {name: int(value) if name in COUNT_STATS and not math.isnan(value) else value for name, value in zip(self.names, figures)}
        return json_safe({"params": self.plan.params(c), "stats": stats})


def ranked(chunks, names: list[str], ranking: Ranking):
    """The chunks (combination indices, statistics) passed on unchanged, each added to `ranking`."""
    import pandas as pd

    for combos, stats in chunks:
        frame = pd.DataFrame(stats, columns=names, copy=False)
        frame.insert(0, "combo", combos)
        ranking.add(frame)
        yield combos, stats


def metric_grid(tables, x: str, y: str, metric: str):
    """The metric over (y values as rows, x values as columns) from a result table given in
    pieces (DataFrames); where other keys were swept too, the best value over them (the lowest
    where lower is better: `lowest_first`); NaN where no combination has a value."""
    import pandas as pd

    best = "min" if lowest_first(metric) else "max"
    pieces = [table.groupby([y, x], sort=False)[metric].agg(best) for table in tables]
    return pd.concat(pieces).groupby(level=[0, 1], sort=True).agg(best).unstack(x)
