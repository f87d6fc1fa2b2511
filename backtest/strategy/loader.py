"""Finding strategies, loading their modules, and calling them safely.

A strategy is one module (in the top-level `strategies/` package, or any file a config names)
with three things a researcher can read at a glance:

    \"\"\"The rule, in plain words.\"\"\"
    PARAMS = (Param("lookback", "int", 10, min=1, max=60, history="sessions", help="..."), ...)
    def target_weights(returns, params) -> pd.DataFrame: ...

`returns` holds daily simple returns of the series the parameters name, traded ones first and
then signal-only ones (columns are series ids, rows the run's trading calendar); `params` has
one attribute per declared parameter. The result
has one row per rebalance date (a subset of `returns.index`) and one column per asset (series id);
a NaN row means "no change". This module checks the declarations, coerces user values to the
declared types, and checks what the strategy returns (no leverage, no unknown dates).

A rule may also come in a second form, its kernel form, which the sweep kernel runs itself, one
thread per combination, on the CPU (`backtest.engine.nb`) and on a GPU (`backtest.engine.cuda`),
so a grid over the rule's parameters makes no Python call per parameter set (without it, a sweep
calls `target_weights` on the host once per distinct parameter set):

    def kernel_tables(returns, sets) -> (integer table, float64 table, rule_params):
        tables (2-D) from the data and the grid only, and one float64 row per parameter set;
        `sets` has one attribute per declared parameter, an array with one value per set
        (`parameter_columns`: numpy arrays, so a grid of 10^7 sets is vectorised)
    def kernel_weights(t, int_table, float_table, rule_params, target) -> bool:
        plain scalar math that numba compiles for the CPU and the GPU: writes row t's weights
        of the traded series into target[0..] (one slot each) and says whether row t rebalances
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import pkgutil
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import pandas as pd

from backtest.errors import StrategyError, did_you_mean
from backtest.strategy.params import SERIES_KINDS, Param, parameter_columns
from backtest.strategy.weights import check_weights


@dataclass(frozen=True)
class Strategy:
    """A loaded strategy module: its name, rule text, declared parameters and weight function."""

    name: str
    doc: str
    params: tuple[Param, ...]
    target_weights_fn: Callable[[pd.DataFrame, SimpleNamespace], pd.DataFrame] = field(repr=False)
    source: str = ""
    kernel_form: tuple[Callable, Callable] | None = field(default=None, repr=False)  # (kernel_tables, kernel_weights)
    in_memory: bool = False  # defined in a notebook or script, in no file: a rerun cannot load it again

    def resolve_params(self, values: dict[str, Any] | None, where: str = "strategy.params",
                       catalogs: Sequence = ()) -> SimpleNamespace:
        """Declared defaults, overridden by `values`, each coerced to its declared type (series ids
        checked against the built-in catalog and the user catalog files `catalogs`)."""
        values = dict(values or {})
        declared = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(declared))
        if unknown:
            known = ", ".join(declared) or "none"
            raise StrategyError(f"{where}.{unknown[0]}: unknown parameter of strategy {self.name!r}"
                                f"{did_you_mean(unknown[0], list(declared))} (known: {known})")
        resolved = {name: param.coerce(values.get(name, param.default), f"{where}.{name}", catalogs) for name, param in declared.items()}
        return SimpleNamespace(**resolved)

    def check_traded_once(self, params: SimpleNamespace, where: str = "strategy.params") -> None:
        """Refuse parameters that name one traded series twice (small == large, a series in two
        groups): the weights have one column per series and could not say whose share is whose.
        A check of a whole parameter set, not of one value: a sweep resolves each swept value on
        its own and checks the combinations it makes (`backtest.sweeps.points`)."""
        named_by: dict[str, str] = {}  # series id -> the parameter naming it first
        for param in self.params:
            if param.signal or param.kind not in SERIES_KINDS:
                continue
            value = getattr(params, param.name)
            for sid in [value] if param.kind == "series" else value:
                if sid in named_by:  # (a list names each series once: `Param.coerce`)
                    raise StrategyError(f"{where}.{param.name}: {sid!r} is already traded through parameter {named_by[sid]!r}; "
                                        "a strategy trades each series once")
                named_by[sid] = param.name

    def series(self, params: SimpleNamespace) -> list[str]:
        """The series ids the strategy trades (its weights' columns), in the order the parameters
        name them."""
        return self._named(params, signal=False)

    def signals(self, params: SimpleNamespace) -> list[str]:
        """The series ids the strategy reads but does not trade (`Param(..., signal=True)`)."""
        return self._signals(params, self.series(params))

    def reads(self, params: SimpleNamespace) -> list[str]:
        """Every series the rule is given: those it trades, then its signals."""
        traded = self.series(params)
        return traded + self._signals(params, traded)

    def _signals(self, params: SimpleNamespace, traded: list[str]) -> list[str]:
        return [sid for sid in self._named(params, signal=True) if sid not in traded]

    def _named(self, params: SimpleNamespace, signal: bool) -> list[str]:
        ids: list[str] = []
        for param in self.params:
            if param.signal != signal:
                continue
            value = getattr(params, param.name)
            if param.kind == "series":
                ids.append(value)
            elif param.kind in ("series_list", "weights"):
                ids.extend(value)
        return list(dict.fromkeys(ids))

    def target_weights(self, returns: pd.DataFrame, params: SimpleNamespace) -> pd.DataFrame:
        """Call the strategy on the series it declares and check what it gives back."""
        self.check_traded_once(params)
        assets = self.series(params)
        try:
            weights = self.target_weights_fn(returns[self.reads(params)], params)
        except KeyError as exc:  # most often a series the rule reads without declaring it
            undeclared = re.findall(r"[^'\[\], ]+:[^'\[\],]+", str(exc.args[0]) if exc.args else "")
            if not undeclared:
                raise StrategyError(f"strategy {self.name!r} ({self.source}): target_weights raised KeyError: {exc}") from exc
            raise StrategyError(f"strategy {self.name!r} ({self.source}): target_weights reads series {undeclared[0]!r}, "
                                "which no parameter declares (add a Param of kind 'series'; signal=True for a series "
                                "it reads but does not trade)") from exc
        except (Exception, SystemExit) as exc:  # the rule's own code (a user's file, perhaps), sys.exit too: one line naming it
            raise StrategyError(f"strategy {self.name!r} ({self.source}): target_weights raised "
                                f"{type(exc).__name__}: {exc}") from exc
        return check_weights(weights, returns.index, assets, self.name, self.source)

    def kernel_tables(self, returns: pd.DataFrame, sets: SimpleNamespace, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The strategy's `kernel_tables` for `count` parameter sets (`parameter_columns`; one data
        context: the same series), checked: an integer and a float64 table (2-D) and one row per set."""
        who = f"strategy {self.name!r} ({self.source}): kernel_tables"
        first = SimpleNamespace(**{name: column[0] for name, column in vars(sets).items()})
        try:
            ints, floats, rule_params = self.kernel_form[0](returns[self.reads(first)], sets)
            ints = np.asarray(ints)  # any signed integer type (int8 tables are 8x smaller), else int64
            ints = np.ascontiguousarray(ints, dtype=ints.dtype if np.issubdtype(ints.dtype, np.signedinteger) else np.int64)
            floats, rule_params = (np.ascontiguousarray(a, dtype=np.float64) for a in (floats, rule_params))
        except (Exception, SystemExit) as exc:  # the rule's own code: one line naming it
            raise StrategyError(f"{who} raised {type(exc).__name__}: {exc}") from exc
        if ints.ndim != 2 or floats.ndim != 2 or rule_params.shape[:1] != (count,) or rule_params.ndim != 2:
            raise StrategyError(f"{who} must return two 2-D tables and one row of rule parameters per parameter set "
                                f"(got shapes {ints.shape}, {floats.shape}, {rule_params.shape} for {count} sets)")
        return ints, floats, rule_params

    def kernel_target_weights(self, returns: pd.DataFrame, params_list: list[SimpleNamespace]) -> list[pd.DataFrame]:
        """`target_weights` of each parameter set computed by the kernel form: `kernel_weights`
        (compiled for the CPU) row by row on one set of `kernel_tables` made for the whole list."""
        from backtest.engine.nb import compiled_rule

        ints, floats, rule_params = self.kernel_tables(returns, parameter_columns(params_list), len(params_list))
        weights_at = compiled_rule(self.kernel_form[1])
        frames = []
        for params, row in zip(params_list, rule_params):
            assets = self.series(params)
            target = np.empty(len(assets))
            rows, values = [], []
            for t in range(len(returns)):
                if weights_at(t, ints, floats, row, target):
                    rows.append(t)
                    values.append(target.copy())
            frames.append(pd.DataFrame(np.array(values).reshape(-1, len(assets)), index=returns.index[rows], columns=assets))
        return frames

    def check_history(self, calendar: pd.DatetimeIndex, params: SimpleNamespace, where: str) -> None:
        """StrategyError naming `where` when the period is no longer than the history a parameter
        declares (`Param(..., history="sessions" | "months")`)."""
        for param in self.params:
            if param.history is None:
                continue
            needed, unit = getattr(params, param.name), param.history
            if unit == "sessions":
                have = len(calendar)
            else:  # "months": whole calendar months before the last one
                have = len(calendar.to_period("M").unique()) - 1
            if have <= needed:
                raise StrategyError(
                    f"{where}.params.{param.name}: the period {calendar[0].date()} to {calendar[-1].date()} has "
                    f"{have} {unit}{' before its last month' if unit == 'months' else ''}, not more than the "
                    f"{needed} {unit} of history the strategy needs; choose a longer period or a smaller {param.name}")


def _from_module(module: Any, name: str, source: str) -> Strategy:
    fn = getattr(module, "target_weights", None)
    if not callable(fn):
        raise StrategyError(f"strategy {name!r} ({source}): no target_weights(returns, params) function")
    params = _declared_params(getattr(module, "PARAMS", ()), f"strategy {name!r} ({source})")
    doc = inspect.cleandoc(module.__doc__ or "").strip()
    if hasattr(module, "LOOKBACK"):
        raise StrategyError(f"strategy {name!r} ({source}): LOOKBACK is no longer read: declare the history on the "
                            "parameter itself, e.g. Param('lookback', 'int', 10, history='sessions')")
    if any(hasattr(module, old) for old in ("GPU", "gpu_tables", "gpu_weights")):
        raise StrategyError(f"strategy {name!r} ({source}): GPU, gpu_tables and gpu_weights are no longer read: the rule's "
                            "kernel form is kernel_tables and kernel_weights (no flag), and runs on the CPU and the GPU")
    form = (getattr(module, "kernel_tables", None), getattr(module, "kernel_weights", None))
    if form != (None, None) and not all(map(callable, form)):
        raise StrategyError(f"strategy {name!r} ({source}): kernel_tables and kernel_weights go together")
    return Strategy(name=name, doc=doc, params=params, target_weights_fn=fn, source=source,
                    kernel_form=form if form[0] is not None else None)


def _declared_params(declared: Any, who: str) -> tuple[Param, ...]:
    """A strategy's PARAMS, checked: a sequence of Param with distinct names."""
    if not isinstance(declared, (list, tuple)) or not all(isinstance(p, Param) for p in declared):
        got = f" (got {type(declared).__name__})" if not isinstance(declared, (list, tuple)) else ""
        raise StrategyError(f"{who}: PARAMS must be a sequence (tuple or list) of backtest.strategy.Param{got}")
    params = tuple(declared)
    names = [p.name for p in params]
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        raise StrategyError(f"{who}: PARAMS declares parameter {twice!r} twice; each parameter needs its own name")
    return params


def rule_name(obj: Any) -> str:
    """The name of a rule given as an object: its `NAME`, else its own name (a module's, a
    class's), else its target_weights function's where that is not "target_weights", else
    "notebook_rule"."""
    name = getattr(obj, "NAME", None) or getattr(obj, "__name__", None)
    if not name:
        function = getattr(getattr(obj, "target_weights", None), "__name__", "")
        name = function if function not in ("", "target_weights", "<lambda>") else "notebook_rule"
    return str(name).rsplit(".", 1)[-1]


def strategy_from(obj: Any, name: str | None = None, where: str = "strategy") -> Strategy:
    """A strategy from an object that has a strategy module's attributes (`PARAMS`,
    `target_weights`, a docstring, optionally `kernel_tables` and `kernel_weights`): a module imported or built in a
    notebook, a class, a SimpleNamespace. Its name: `name`, else `rule_name(obj)`. A rule in no
    file (no `__file__`) is marked `in_memory`."""
    if isinstance(obj, Strategy):
        return obj
    name = name or rule_name(obj)
    file = getattr(obj, "__file__", None)
    return dataclasses.replace(_from_module(obj, name, file or f"<{name}, defined in memory>"), in_memory=not file)


def load_strategy(name: str | None = None, file: str | Path | None = None, where: str = "strategy") -> Strategy:
    """A strategy by name (a module in `strategies/`) or from a Python file path."""
    if file is not None:
        path = Path(file)
        if not path.is_file():
            raise StrategyError(f"{where}.file: no such file {str(path)!r}")
        spec = importlib.util.spec_from_file_location(f"_backtest_strategy_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:  # a user's file (sys.exit too): report it on one line
            raise StrategyError(f"{where}.file: {path} failed to import: {type(exc).__name__}: {exc}") from exc
        return _from_module(module, name or path.stem, str(path))
    if not name:
        raise StrategyError(f"{where}: give a strategy name or file")
    if name not in strategy_names():
        raise StrategyError(f"{where}.name: unknown strategy {name!r}{did_you_mean(name, strategy_names())} "
                            f"(available: {', '.join(strategy_names())})")
    module = importlib.import_module(f"strategies.{name}")
    return _from_module(module, name, module.__file__ or name)


def strategy_names() -> list[str]:
    """Names of the strategies shipped in the `strategies/` package."""
    import strategies

    return sorted(m.name for m in pkgutil.iter_modules(strategies.__path__) if not m.name.startswith("_"))
