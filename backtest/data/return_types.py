"""Total or price returns: what each series' numbers include, and a notice when a run mixes them.

Ken French portfolios and factors, adjusted closes (`sector`, `etf_tr`) and most user files are
total returns (dividends reinvested); index levels and the split-adjusted `etf` closes are price
returns. Comparing the two mixes in the dividend yield (about 1.3-4 % a year for US equities),
so a run or comparison that mixes them says so. Every catalog dataset declares its type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from backtest.data.catalog import Catalogs, resolve_id


def return_types(series_ids: Sequence[str], catalogs: Catalogs = ()) -> dict[str, str]:
    """{series id: "total" | "price"}, as the catalogs declare them."""
    return {sid: resolve_id(sid, catalogs)[0].returns for sid in dict.fromkeys(series_ids)}


def mixed_returns_message(types: Mapping[str, str]) -> str | None:
    """One line naming which series are total and which price returns, when `types` (as
    `return_types` gives them) holds both; None otherwise."""
    total = [sid for sid, kind in types.items() if kind == "total"]
    price = [sid for sid, kind in types.items() if kind == "price"]
    if not total or not price:
        return None
    return (f"mixes total returns ({', '.join(total)}) with price returns ({', '.join(price)}): "
            "the difference includes the dividend yield (about 1.3-4 % a year for US equities)")
