"""Parameter sweeps: one config over a grid of values, every combination through the kernel.

    grid      parse an axis's values (`a:b`, `a:b:step`, `v1,v2,...`)
    plan      the base config, axes and combinations; the sweep id
    contexts  a loaded data set as the kernel's arrays; host weight sets and kernel rules
    points    which combinations share data contexts and strategy parameter sets
    evaluate  the strategy's targets, benchmark curves and the compiled batch
    backends  local (numba threads), Ray tasks, CUDA
    store     part files (resume) and the final table
    result    a finished sweep: ranking in memory, table read in pieces
    ranking   the best K rows and the deflated ratios' moments, kept as the table streams past
    guards    deflated Sharpe ratio, in/out-of-sample split, walk-forward
    periods   --split and --walk-forward read, rolling windows, checked long enough
    run       `run_sweep`: all of the above, in order
"""

from backtest.sweeps.plan import DEFAULT_METRIC, KERNEL_KEYS, Axis, Plan, base_config, check_metric, make_plan, resolve_key, stat_names
from backtest.sweeps.result import SweepResult, metric_grid
from backtest.sweeps.run import BACKENDS, run_sweep
from backtest.sweeps.store import CSV_MAX_ROWS

__all__ = [
    "BACKENDS", "CSV_MAX_ROWS", "DEFAULT_METRIC", "KERNEL_KEYS", "Axis", "Plan", "SweepResult", "base_config",
    "check_metric", "make_plan", "metric_grid", "resolve_key", "run_sweep", "stat_names",
]
