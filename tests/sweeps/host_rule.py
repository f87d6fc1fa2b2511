"""A guard for tests: a strategy's `target_weights` that fails where a sweep calls it on the host.

A strategy with a kernel form must never be called by a sweep, whatever the backend: the kernel
computes its targets. Two calls are the host's by design and pass: the benchmark leg's weights
(`Evaluator._bench_curves`) and the guard rails' re-run of a winner (`combination_curves`).
"""

from __future__ import annotations

import os
import traceback

ALLOWED = ("combination_curves", "_bench_curves")


def guarded(module):
    """`module.target_weights`, raising AssertionError where a sweep (code under backtest/sweeps/)
    calls it outside ALLOWED. Install it before the sweep loads the strategy."""
    host_rule = module.target_weights

    def target_weights(returns, params):
        stack = traceback.extract_stack()
        in_sweep = any(os.path.join("backtest", "sweeps", "") in frame.filename for frame in stack)
        if in_sweep and not any(frame.name in ALLOWED for frame in stack):
            raise AssertionError(f"the sweep called {module.__name__}.target_weights on the host")
        return host_rule(returns, params)

    return target_weights
