"""Parquet cache of parsed data files.

A parsed file is stored under a key made of the sha256 of the file's bytes, the parser's name
and options and `PARSER_VERSION`, in `$BACKTEST_CACHE_DIR` (default `~/.cache/backtest`). A
changed file, parser option or parser version gives a new key, so a cache entry never needs
invalidating. Writes go to a temporary file renamed into place (atomic); an unreadable cache
file is ignored and rewritten; a cache directory that cannot be written only costs speed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

# Bump when a parser's output changes for the same input bytes.
PARSER_VERSION = 2  # 2: out-of-order and malformed dates are errors, no longer sorted or skipped
ENV_VAR = "BACKTEST_CACHE_DIR"


def cache_dir() -> Path:
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "backtest"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# sha256 of files already read by this process, by (path, size, mtime): a run's manifest needs
# the hashes of the files its data came from, which loading them has just computed
_known_hashes: dict[tuple[str, int, int], str] = {}


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = os.stat(path)
    return (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def file_sha256(path: Path) -> str:
    key = _stat_key(path)
    if key not in _known_hashes:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        _known_hashes[key] = digest.hexdigest()
    return _known_hashes[key]


def cache_key(file_sha: str, parser: str, options: dict | None = None) -> str:
    spec = {"v": PARSER_VERSION, "parser": parser, "options": options or {}, "file": file_sha}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def cache_path(key: str, parser: str) -> Path:
    return cache_dir() / f"{parser}-{key}.parquet"


def _read(path: Path) -> pd.DataFrame | None:
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - any unreadable cache file is simply rebuilt
        return None
    if not isinstance(frame.index, pd.DatetimeIndex):
        return None
    return frame


def _write(path: Path, frame: pd.DataFrame) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".parquet")
        os.close(fd)
        frame.to_parquet(tmp, engine="pyarrow", index=True)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        warnings.warn(f"data cache not written ({path}): {exc}", RuntimeWarning, stacklevel=3)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def cached_parse(path: Path, parser: str, options: dict | None,
                 parse: Callable[[bytes], pd.DataFrame]) -> pd.DataFrame:
    """`parse(bytes of path)`, from the cache when the same bytes were parsed the same way before."""
    key = _stat_key(path)
    data = Path(path).read_bytes()
    _known_hashes[key] = sha256_bytes(data)
    target = cache_path(cache_key(_known_hashes[key], parser, options), parser)
    frame = _read(target)
    if frame is not None:
        return frame
    frame = parse(data)
    _write(target, frame)
    return frame
