"""rates: do small caps beat large caps after the T-bill rate has fallen (easing) rather than risen?

Regime at the start of month t: the monthly average of the daily T-bill return (`ff_factors:RF`)
in month t-1 against month t-1-m (default m = 6): easing if lower, tightening if higher, flat if
equal. Outcome: small-minus-large in month t (difference of the compounded monthly returns); the
market's monthly return is reported too. A partial last month is listed but left out of the summary.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from backtest.study.common import StudyResult, group_bars, monthly_data
from backtest.study.stats import DEFAULT_RESAMPLES, Claim, summarize

DEFAULTS = {"small": "ff_size:Lo 30", "large": "ff_size:Hi 30", "market": "ff_factors:Mkt", "rf": "ff_factors:RF", "months": 6}
COLUMNS = [
    ("month", "Month", "str"),
    ("regime", "Regime", "str"),
    ("small_minus_large", "Small − large", "pct"),
    ("market", "Market", "pct"),
]
OUTCOMES = ["small_minus_large", "market"]
REGIMES = ("easing", "tightening", "flat")


def regime_groups(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    full = ~rows["partial"].to_numpy(dtype=bool)
    return {name: full & (rows["regime"] == name).to_numpy() for name in REGIMES}


def run(
    small: str = DEFAULTS["small"],
    large: str = DEFAULTS["large"],
    market: str = DEFAULTS["market"],
    rf: str = DEFAULTS["rf"],
    months: int = DEFAULTS["months"],
    start=None,
    end=None,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
    search_path=None,
    frame=None,
) -> StudyResult:
    """The rate-regime study (`frame`: daily returns to use instead of loading them)."""
    monthly, regime, partial = monthly_data([small, large, market], [small, large], rf, months, start, end, search_path, frame)
    rows = pd.DataFrame(
        {
            "month": monthly.index.astype(str),
            "regime": regime.to_numpy(),
            "small": monthly[small].to_numpy(),
            "large": monthly[large].to_numpy(),
            "small_minus_large": (monthly[small] - monthly[large]).to_numpy(),
            "market": monthly[market].to_numpy(),
            "partial": monthly.index == partial,
        }
    )
    rows = rows[rows["small_minus_large"].notna()].reset_index(drop=True)
    notes = [f"{partial} is partial: listed, left out of the summary"] if partial is not None else []
    notes.append(f"{int(rows['regime'].isna().sum())} months without a regime (fewer than {months + 1} prior months of {rf}); "
                 f"{int((rows['regime'] == 'flat').sum())} flat months (rate unchanged)")
    claims = [
        Claim("small_minus_large", "easing", "tightening", f"small caps beat large caps by more after the T-bill rate fell over the prior {months} months than after it rose"),
        Claim("market", "easing", "tightening", f"the market does better after the T-bill rate fell over the prior {months} months than after it rose"),
    ]
    summary = summarize(rows, regime_groups(rows), claims, outcomes=OUTCOMES, seed=seed, resamples=resamples)
    params = {"small": small, "large": large, "market": market, "rf": rf, "months": months, "start": start, "end": end, "seed": seed, "resamples": resamples}
    return StudyResult("rates", params, rows, "rows", summary, notes)


def plot(result: StudyResult, path: Path) -> None:
    p = result.params
    group_bars(result, path, "small_minus_large", f"{p['small']} − {p['large']} by T-bill regime over {p['months']} months, p = {result.figures['p_value']:.3f} (Holm {result.figures['p_value_holm']:.3f})")


MAX_ROWS = 12
