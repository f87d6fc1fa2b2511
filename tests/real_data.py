"""Real series for module-scoped fixtures, loaded through the catalog from ../shared/data."""

import pandas as pd
import pytest

from backtest.data.catalog import load_returns


def load(shared_data, tmp_path_factory, ids: dict[str, str]) -> pd.DataFrame:
    """Daily returns of the series ids (keys), in columns named by the values.

    A module-scoped fixture runs before the per-test isolated cache is set, so this sets it.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BACKTEST_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
        frame = load_returns(list(ids), [shared_data])
    return frame.rename(columns=ids)
