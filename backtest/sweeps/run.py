"""Running (or resuming) a sweep: set-up, batches through a backend, parts, the final table and
its ranking. Nothing here prints: callers pass `on_batch(done, total)` and `notify(line)`.

Combinations run in batches; each finished batch is written at once as a Parquet part file under
`<out>/<sweep_id>/parts/`, so an interrupted sweep keeps its finished combinations, and running
the same sweep again (the sweep id is a hash of the resolved base config and the grid) computes
only the rest.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from backtest.errors import ConfigError, UserError
from backtest.sweeps import backends
from backtest.sweeps.evaluate import Evaluator, host_rule_notice
from backtest.sweeps.plan import Plan, check_metric, cost_variants
from backtest.sweeps.ranking import Ranking
from backtest.sweeps.result import SweepResult, ranked
from backtest.sweeps.store import Store, manifest, write_table

DEFAULT_BATCH = 4096
EQUITY_BATCH = 256  # combinations per batch when equity curves are kept (rows x batch floats)
GPU_BATCH = 1 << 20  # combinations per batch on the GPU: one launch keeps every core busy
BACKENDS = ("local", "ray", "cuda", "auto")
TOP_KEPT = 1000  # combinations a sweep keeps in memory, best first (the full table is on disk)


def run_sweep(
    plan: Plan,
    out: Path | str | None = "results",
    jobs: int = 0,
    backend: str = "local",
    address: str | None = None,
    keep_equity: bool = False,
    batch_size: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    device: int = 0,
    notify: Callable[[str], None] | None = None,
    top: int = TOP_KEPT,
) -> SweepResult:
    """Run (or resume) a sweep; with `out` set, write batches as they finish and the final table.

    jobs: worker count (numba threads and strategy processes locally, Ray tasks in flight);
    0 means every CPU. `on_batch(done, total)` is called after each finished batch (it may raise
    to stop the sweep; finished batches stay saved).
    backend "cuda" runs the kernel on CUDA GPU `device` (no GPU, or a strategy trading more
    columns than the GPU kernel holds: ConfigError); "auto" does where a GPU is present and the
    local backend otherwise. Where the combinations cannot run on the GPU (--keep-equity; too
    many columns, with "auto"), both run locally and say why through `notify(line)`, as they say
    where the strategy's rule runs on the host (it has no kernel form).
    With `out` set, the full table goes to OUT/<sweep_id>/results.parquet (and .csv) a piece at a
    time and only the `top` best combinations stay in memory (`SweepResult.ranking`); with `out`
    None, the whole statistics matrix is returned in memory.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"--backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    if address is not None and backend != "ray":  # else the sweep would run here, not on the cluster named
        raise ConfigError(f"--address {address}: names a Ray cluster; give --backend ray too")
    check_metric(plan)
    jobs = jobs or os.cpu_count() or 1
    total = len(plan.combos)
    gpu = False
    requested = backend
    if backend in ("cuda", "auto"):
        problem = backends.gpu_problem(device)
        if problem is not None and backend == "cuda":
            raise ConfigError(f"--backend cuda: {problem}")
        gpu = problem is None
        backend = "local"
    if backend == "ray" and out is None:
        raise ConfigError("--backend ray needs an output directory")
    # local: every combination is validated and the data loaded before anything is written
    evaluator = Evaluator(plan, jobs=jobs, keep_equity=keep_equity) if backend == "local" else None
    if gpu:
        too_wide = evaluator.too_wide_for_gpu()
        if too_wide is not None and requested == "cuda":
            raise ConfigError(f"--backend cuda: {too_wide} (run it with --backend local)")
        refusal = evaluator.gpu_refusal()
        if refusal is None:
            evaluator.use_gpu(device)
        elif notify is not None:
            notify(f"GPU not used: {refusal}; running on the CPU")
    notice = host_rule_notice(plan)
    if notice is not None and notify is not None:
        notify(notice)
    if not batch_size:  # small enough for a moving progress bar, large enough to amortise a batch
        if evaluator is not None and evaluator.on_gpu:
            batch_size = GPU_BATCH
        else:
            batch_size = EQUITY_BATCH if keep_equity else int(min(DEFAULT_BATCH, max(512, total // 64)))
    stop_ray = backends.start_ray(address, jobs) if backend == "ray" else None  # Ray found or started before anything is written
    try:
        with removed_on_user_error(out, plan.sweep_id):
            return _run(plan, evaluator, out, jobs, keep_equity, batch_size, on_batch, top)
    finally:
        if stop_ray is not None:
            stop_ray()


def _run(plan, evaluator, out, jobs, keep_equity, batch_size, on_batch, top) -> SweepResult:
    """The batches not saved yet, through the local loop (`evaluator`) or Ray (None), then the
    table and the ranking. SweepInterrupted on Ctrl-C."""
    total = len(plan.combos)
    store = Store(Path(out) / plan.sweep_id) if out is not None else None
    if store is not None:
        store.open(json.dumps(manifest(plan), indent=2, default=str))
        done = store.done(total)
    else:
        done = np.zeros(total, dtype=np.bool_)
    todo = np.flatnonzero(~done).astype(np.int64)  # (np.setdiff1d takes ~9 s at 10^7)
    finished = saved = total - len(todo)

    def progress(done: int, total: int) -> None:
        nonlocal saved
        saved = done
        if on_batch is not None:
            on_batch(done, total)

    if finished:
        progress(finished, total)
    try:
        if evaluator is None:
            batch_size = max(1, min(batch_size, math.ceil(len(todo) / (4 * jobs)))) if len(todo) else batch_size
            names, kept = backends.run_ray(plan, todo, batch_size, keep_equity, store, finished, total, progress), None
        else:
            names, kept = backends.run_local(evaluator, todo, batch_size, jobs, store, finished, total, progress)
    except KeyboardInterrupt:
        if store is None:
            raise SweepInterrupted("interrupted (nothing is saved without an output directory)") from None
        raise SweepInterrupted(f"interrupted: {saved:,} of {total:,} combinations are saved in {store.root}; "
                               "run the same command again to resume") from None
    ranking = Ranking(plan.metric, top, variants=lambda combos: cost_variants(plan, combos))
    if store is not None:  # the table from the part files, a window at a time, ranked as it passes
        write_table(plan, names, ranked(store.windows(names, total), names, ranking), store.root)
    else:
        for _ in ranked(((np.arange(total, dtype=np.int64), kept),), names, ranking):
            pass
    return SweepResult(plan, names, len(todo), store.root if store else None, ranking, stats=kept)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; the message says what is saved and how to resume."""


@contextlib.contextmanager
def removed_on_user_error(out: Path | str | None, sweep_id: str):
    """On a user error (a strategy refusing a parameter set mid-sweep, say), remove what the
    sweep wrote under `out`: its directory and `out` itself, unless they were there before (a
    resumed sweep keeps the parts of its earlier runs)."""
    if out is None:
        yield
        return
    out = Path(out)
    root = out / sweep_id
    out_existed, root_existed = out.exists(), root.exists()
    try:
        yield
    except UserError:
        if not root_existed:
            shutil.rmtree(root, ignore_errors=True)
        if not out_existed:
            with contextlib.suppress(OSError):
                out.rmdir()  # only where nothing else was written there meanwhile
        raise
