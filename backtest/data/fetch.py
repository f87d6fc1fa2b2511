"""Download datasets from their original sources into a data directory.

Ken French datasets: the library's zip (`<NAME>_CSV.zip`) with urllib, saved as
`<dest>/kenfrench/<NAME>_CSV.zip` (a user catalog's Ken French dataset by its library `name:`
too). Prices datasets with a ticker: through yfinance (the optional extra
`backtest[yahoo]`), saved in the classic CSV form `Date,Open,High,Low,Close[,Adj Close],Volume`
as `<dest>/<dir>/<SYM>.csv`. Every download is parsed before it replaces anything (written to a
temporary file, then renamed), so a failed or malformed download leaves no file behind.
"""

from __future__ import annotations

import io
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from backtest.data import kenfrench, yahoo
from backtest.data.catalog import Catalogs, Source, all_sources, catalog
from backtest.errors import DataError

TIMEOUT_S = 60.0
USER_AGENT = "backtest/0.1 (python urllib)"


def downloadable(source: Source) -> bool:
    """Whether `fetch` knows where to download a source: a Ken French library file or a Yahoo
    ticker, saved on the search path (a user's own `file:` is never overwritten)."""
    if source.path is not None:
        return False
    if source.kind == "kenfrench":
        return bool(source.url) and any(f.endswith(".zip") for f in source.files)
    return source.kind == "prices" and source.ticker is not None


def _select(dataset_names: list[str] | None, catalogs: Catalogs = ()) -> list[Source]:
    sources = all_sources(catalogs)
    if not dataset_names:
        return [s for s in sources if downloadable(s)]
    chosen: dict[str, Source] = {}
    datasets = catalog(catalogs)
    for name in dataset_names:
        matched = [s for s in sources if s.name == name or (s.dataset == name and name in datasets)]
        if not matched:
            choices = ", ".join([*datasets, *(s.name for s in sources if s.name not in datasets)])
            raise DataError(f"unknown dataset {name!r} to fetch (choices: {choices})")
        local = [s for s in matched if not downloadable(s)]
        if local:
            raise DataError(f"{local[0].catalog}: dataset {local[0].name} is read from its own file, not downloaded "
                            "(give a Ken French dataset's library name: or a ticker: with files: to fetch it)")
        for s in matched:
            chosen.setdefault(s.name, s)
    return list(chosen.values())


def fetch(dataset_names: list[str] | None = None, dest: Path = Path("data"), *,
          base_url: str | None = None, timeout: float = TIMEOUT_S, catalogs: Catalogs = ()) -> list[Path]:
    """Download `dataset_names` (dataset names such as 'ff_size' or 'index', or single sources
    such as 'index:SPX'; None = all that can be downloaded) of the built-in catalog and the user
    catalog files `catalogs` into `dest`; the paths written, in order.

    `base_url` replaces the directory part of the Ken French download URLs (tests, mirrors).
    """
    sources = _select(dataset_names, catalogs)
    if any(s.kind == "prices" for s in sources):
        _yfinance(sources, catalogs)  # fail before downloading anything
    dest = Path(dest)
    saved = []
    for source in sources:
        if source.kind == "kenfrench":
            saved.append(fetch_kenfrench(source, dest, base_url=base_url, timeout=timeout))
        else:
            saved.append(fetch_yahoo(source, dest))
    return saved


def _url(source: Source, base_url: str | None) -> str:
    if base_url is None:
        return source.url
    return base_url.rstrip("/") + "/" + source.url.rsplit("/", 1)[1]


def download(url: str, what: str, timeout: float = TIMEOUT_S, target: Path | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise DataError(f"could not download {what} from {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        by_hand = f"save {url} as {target} by hand" if target else "copy the file into a data directory by hand"
        raise DataError(f"could not download {what} from {url}: {reason} (no network? {by_hand})") from None


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def fetch_kenfrench(source: Source, dest: Path, *, base_url: str | None = None,
                    timeout: float = TIMEOUT_S) -> Path:
    url = _url(source, base_url)
    target = Path(dest) / next(f for f in source.files if f.endswith(".zip"))  # the original download
    data = download(url, source.name, timeout, target)
    frame = kenfrench.parse(data, f"{url} (downloaded for {source.name})", source.block)
    missing = [c for c in source.columns or () if c not in frame.columns]
    if missing:
        raise DataError(f"{url}: downloaded file for {source.name} has no column {missing[0]!r} "
                        f"(columns: {', '.join(frame.columns)})")
    _atomic_write(target, data)
    return target


def _yfinance(sources: list[Source], catalogs: Catalogs = ()):
    try:
        import yfinance
    except ImportError:
        datasets = catalog(catalogs)
        names = ", ".join(dict.fromkeys(s.dataset if len(datasets[s.dataset].sources) > 1 and
                                        all(t in sources for t in datasets[s.dataset].sources.values()) else s.name
                                        for s in sources if s.kind == "prices"))
        raise DataError(f"fetching {names} needs yfinance: install backtest[yahoo] "
                        f"(pip install 'backtest[yahoo]'), or fetch only the Ken French datasets") from None
    return yfinance


def yahoo_csv(frame, adjusted: bool) -> bytes:
    """A yfinance history frame as a classic Yahoo CSV."""
    import pandas as pd

    if isinstance(frame.columns, pd.MultiIndex):
        frame = frame.copy()
        frame.columns = frame.columns.get_level_values(0)
    wanted = ["Open", "High", "Low", "Close", *(["Adj Close"] if adjusted else []), "Volume"]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataError(f"yfinance returned no {missing[0]!r} column (columns: {', '.join(map(str, frame.columns))})")
    out = frame[wanted].copy()
    out.index = pd.DatetimeIndex(out.index).tz_localize(None).strftime("%Y-%m-%d")
    out.index.name = "Date"
    buffer = io.StringIO()
    out.to_csv(buffer, lineterminator="\n")
    return buffer.getvalue().encode()


def fetch_yahoo(source: Source, dest: Path) -> Path:
    yf = _yfinance([source])
    try:
        frame = yf.download(source.ticker, period="max", interval="1d", auto_adjust=False,
                            actions=False, progress=False)
    except Exception as exc:  # noqa: BLE001 - yfinance raises many kinds
        raise DataError(f"could not download {source.name} ({source.ticker}) from Yahoo Finance: {exc}") from None
    if frame is None or len(frame) == 0:
        raise DataError(f"could not download {source.name} ({source.ticker}) from Yahoo Finance: "
                        f"no rows returned (no network?)")
    data = yahoo_csv(frame.dropna(how="all"), source.adjusted)
    target = Path(dest) / source.files[0]
    yahoo.parse(data, f"{source.ticker} (downloaded for {source.name})")
    _atomic_write(target, data)
    return target
