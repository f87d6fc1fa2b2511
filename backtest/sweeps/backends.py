"""Where batches run: in this process (numba threads, a fork pool for strategy calls), on Ray
tasks, or on a CUDA GPU (the local loop with the GPU kernel)."""

from __future__ import annotations


import numpy as np

from backtest.errors import ConfigError
from backtest.sweeps.evaluate import Evaluator
from backtest.sweeps.plan import Plan, has_benchmark, stat_names


def batches(todo: np.ndarray, size: int) -> list[np.ndarray]:
    return [todo[i : i + size] for i in range(0, len(todo), size)]


def run_local(evaluator, todo, batch_size, jobs, store, finished, total, on_batch):
    import numba

    previous_threads = numba.get_num_threads()
    numba.set_num_threads(max(1, min(jobs, numba.config.NUMBA_NUM_THREADS)))
    names = evaluator.names
    stats_kept = np.full((total, len(names)), np.nan) if store is None else None
    try:
        if len(todo):
            evaluator.start_pool()
        chunks = batches(todo, batch_size)
        # weight sets: computed in waves spanning several batches (fewer pool round trips), and
        # dropped after the last batch that uses them (memory stays bounded)
        batch_sets = [evaluator.host_sets(b) for b in chunks]
        last_use = np.full(len(evaluator.set_points), -1)
        for b, used in enumerate(batch_sets):
            last_use[used] = b
        wave = max(256, 32 * jobs)
        for b, batch in enumerate(chunks):
            if any(int(s) not in evaluator.sets for s in batch_sets[b]):
                needed, end = [], b
                while end < len(chunks) and (end == b or sum(map(len, needed)) < wave):
                    needed.append(batch_sets[end])
                    end += 1
                evaluator._ensure_sets(np.unique(np.concatenate(needed)))
            stats, equity = evaluator.run_batch(batch)
            for s in batch_sets[b][last_use[batch_sets[b]] == b]:
                evaluator.sets.pop(int(s), None)
            if store is not None:
                dates = evaluator.dates(int(batch[0])) if equity is not None else None
                store.write_part(batch, stats, names, equity, dates)
            else:
                stats_kept[batch] = stats
            finished += len(batch)
            if on_batch is not None:
                on_batch(finished, total)
    finally:
        evaluator.close()
        numba.set_num_threads(previous_threads)
    return names, stats_kept


# -- Ray backend: the same batches as Ray tasks; each worker process keeps its own Evaluator.

_RAY_EVALUATORS: dict = {}


def _ray_batch(plan: Plan, combo_ids: np.ndarray, keep_equity: bool):
    import numba

    numba.set_num_threads(1)
    evaluator = _RAY_EVALUATORS.get(plan.sweep_id)
    if evaluator is None:
        _RAY_EVALUATORS.clear()
        evaluator = _RAY_EVALUATORS[plan.sweep_id] = Evaluator(plan, jobs=1, keep_equity=keep_equity)
    stats, equity = evaluator.run_batch(combo_ids)
    dates = evaluator.dates(int(combo_ids[0])) if equity is not None else None
    return combo_ids, stats, evaluator.names, equity, dates


def run_ray(plan, todo, batch_size, jobs, address, keep_equity, store, finished, total, on_batch):
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray: ray is not installed (pip install 'backtest[ray]')") from None
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        else:
            ray.init(num_cpus=jobs, ignore_reinit_error=True, log_to_driver=False, include_dashboard=False)
    try:
        remote = ray.remote(num_cpus=1)(_ray_batch)
        plan_ref = ray.put(plan)
        names = stat_names(has_benchmark(plan))
        pending = [remote.remote(plan_ref, batch, keep_equity) for batch in batches(todo, batch_size)]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            combo_ids, stats, names, equity, dates = ray.get(ready[0])
            store.write_part(combo_ids, stats, names, equity, dates)
            finished += len(combo_ids)
            if on_batch is not None:
                on_batch(finished, total)
    except BaseException:
        for ref in locals().get("pending", []):
            ray.cancel(ref, force=True)
        raise
    finally:
        if started_here:
            ray.shutdown()
    return names


def gpu_problem(device: int = 0) -> str | None:
    """Why the CUDA backend cannot run on GPU `device` here (None: it can)."""
    try:
        from backtest.engine import cuda
    except ImportError:
        return "numba-cuda is not installed (pip install 'backtest[cuda]')"
    return cuda.unavailable(device)

