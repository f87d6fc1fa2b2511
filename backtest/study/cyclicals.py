"""sectors: do cyclicals beat defensives after easing, or after small caps led?

Cyclicals (Manuf, Enrgy, Durbl / XLB, XLI, XLE) minus defensives (NoDur, Hlth, Utils / XLP, XLV,
XLU): each side is the equal-weighted average of its members' compounded monthly returns. Months
are grouped by the rate regime of `rates` (T-bill average of month t-1 vs t-1-m) and by whether
small caps beat large caps in month t-1. A partial last month is listed but left out of the summary.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from backtest.study.common import StudyError, StudyResult, group_bars, monthly_data
from backtest.study.rate_regimes import REGIMES
from backtest.study.stats import DEFAULT_RESAMPLES, Claim, summarize

UNIVERSES = {
    "ff": {
        "cyclicals": ["ff_industry10:Manuf", "ff_industry10:Enrgy", "ff_industry10:Durbl"],
        "defensives": ["ff_industry10:NoDur", "ff_industry10:Hlth", "ff_industry10:Utils"],
        "small": "ff_size:Lo 30",
        "large": "ff_size:Hi 30",
    },
    "sectors": {
        "cyclicals": ["sector:XLB", "sector:XLI", "sector:XLE"],
        "defensives": ["sector:XLP", "sector:XLV", "sector:XLU"],
        "small": "etf:IWM",
        "large": "etf:SPY",
    },
}
RF = "ff_factors:RF"
COLUMNS = [
    ("month", "Month", "str"),
    ("regime", "Regime", "str"),
    ("small_led_prior", "Small led prior", "bool"),
    ("cyclicals", "Cyclicals", "pct"),
    ("defensives", "Defensives", "pct"),
    ("cyclicals_minus_defensives", "Cyc − def", "pct"),
]
OUTCOMES = ["cyclicals_minus_defensives"]


def run(
    universe: str = "ff",
    months: int = 6,
    small: str | None = None,
    large: str | None = None,
    rf: str = RF,
    start=None,
    end=None,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
    search_path=None,
    frame=None,
) -> StudyResult:
    """The sector study (`frame`: daily returns to use instead of loading them)."""
    if universe not in UNIVERSES:
        raise StudyError(f"--universe {universe!r}: choose one of {', '.join(UNIVERSES)}")
    u = UNIVERSES[universe]
    small, large = small or u["small"], large or u["large"]
    cyc, dfn = u["cyclicals"], u["defensives"]
    monthly, regime, partial = monthly_data([*cyc, *dfn, small, large], [*cyc, *dfn], rf, months, start, end, search_path, frame)
    cyclicals = monthly[cyc].mean(axis=1, skipna=False)
    defensives = monthly[dfn].mean(axis=1, skipna=False)
    sml = monthly[small] - monthly[large]
    prior = sml.shift(1)
    rows = pd.DataFrame(
        {
            "month": monthly.index.astype(str),
            "regime": regime.to_numpy(),
            "small_minus_large_prior": prior.to_numpy(),
            "small_led_prior": np.where(prior.isna(), None, prior > 0),
            "cyclicals": cyclicals.to_numpy(),
            "defensives": defensives.to_numpy(),
            "cyclicals_minus_defensives": (cyclicals - defensives).to_numpy(),
            "partial": monthly.index == partial,
        }
    )
    rows = rows[rows["cyclicals_minus_defensives"].notna()].reset_index(drop=True)
    full = ~rows["partial"].to_numpy(dtype=bool)
    led = rows["small_led_prior"]
    groups = {name: full & (rows["regime"] == name).to_numpy() for name in REGIMES}
    groups["small_led"] = full & (led == True).to_numpy()  # noqa: E712 (None stays out)
    groups["small_lagged"] = full & (led == False).to_numpy()  # noqa: E712
    claims = [
        Claim("cyclicals_minus_defensives", "easing", "tightening", f"cyclicals beat defensives by more after the T-bill rate fell over the prior {months} months than after it rose"),
        Claim("cyclicals_minus_defensives", "small_led", "small_lagged", "cyclicals beat defensives by more in the month after small caps led"),
    ]
    notes = [f"{partial} is partial: listed, left out of the summary"] if partial is not None else []
    summary = summarize(rows, groups, claims, outcomes=OUTCOMES, seed=seed, resamples=resamples)
    params = {"universe": universe, "cyclicals": cyc, "defensives": dfn, "small": small, "large": large, "rf": rf,
              "months": months, "start": start, "end": end, "seed": seed, "resamples": resamples}
    return StudyResult("sectors", params, rows, "rows", summary, notes)


def plot(result: StudyResult, path: Path) -> None:
    p = result.params
    group_bars(result, path, "cyclicals_minus_defensives", f"cyclicals − defensives ({p['universe']}) by regime and prior-month small-cap lead")


MAX_ROWS = 12
