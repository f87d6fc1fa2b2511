"""The examples: the notebook runs top to bottom through the API (and is committed without
outputs), and the rule written as a file (examples/falling_rates.py) does what its docstring says."""

import importlib.util

import nbformat
import numpy as np
import pandas as pd
import pytest

import backtest
from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"


def test_the_notebook_is_committed_without_outputs():
    notebook = nbformat.read(EXAMPLES / "small_caps.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_notebook_runs(shared_data):
    from nbclient import NotebookClient

    notebook = nbformat.read(EXAMPLES / "small_caps.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    printed = "\n".join(str(output.get("text", "")) for cell in notebook.cells for output in cell.get("outputs", []))
    assert "deflated Sharpe" in printed and "in sample" in printed
    last = notebook.cells[-1].outputs[0]["data"]["text/plain"]
    assert "'first10'" in last and "'falling_rates'" in last


def _falling_rates_by_hand(returns: pd.DataFrame, months: int) -> list[tuple]:
    """(date, small weight) at each month's first session, the docstring's rule by a plain loop."""
    rate = returns["ff_factors:RF"].to_list()
    dates = list(returns.index)
    firsts = [i for i in range(len(dates)) if i == 0 or (dates[i].year, dates[i].month) != (dates[i - 1].year, dates[i - 1].month)]
    smoothed = {i: (sum(rate[i - 20 : i + 1]) / 21 if i >= 20 else None) for i in firsts}
    by_month = {dates[i].year * 12 + dates[i].month: i for i in firsts}
    out = []
    for i in firsts:
        before = by_month.get(dates[i].year * 12 + dates[i].month - months)
        now, then = smoothed[i], smoothed.get(before)
        small = 0.5 if before is None or now is None or then is None else (1.0 if now < then else 0.0)
        out.append((dates[i], small))
    return out


def test_the_file_rule_does_what_it_says(shared_data):
    result = backtest.run(EXAMPLES / "falling_rates.yaml", start="1990-01-01")
    expected = _falling_rates_by_hand(result.prepared.returns, 6)
    weights = result.weights
    assert list(weights.index) == [d for d, _ in expected]
    np.testing.assert_allclose(weights["ff_size:Lo 30"], [w for _, w in expected], rtol=0, atol=1e-12)
    assert list(weights.columns) == ["ff_size:Lo 30", "ff_size:Hi 30"]  # the rate is read, not traded
    assert all(leg.clean for leg in backtest.check(EXAMPLES / "falling_rates.yaml", cuts=10))
    # the same rule given as a module object (as the notebook does) gives the same run
    spec = importlib.util.spec_from_file_location("falling_rates", EXAMPLES / "falling_rates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    again = backtest.run(REPO_ROOT / "configs" / "first10.yaml", strategy=module, start="1990-01-01",
                         set={"benchmark.params.rebalance": "monthly"})
    assert again.stats["sharpe"] == pytest.approx(result.stats["sharpe"], rel=1e-12)
