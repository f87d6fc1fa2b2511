"""Files written whole or not at all, and values made JSON-safe: the one place for both.

Every output (a run directory, a sweep's part file, a report, a cache file) is written under a
hidden temporary name that names this process (`.<name>.<host>-<pid>.tmp`) and renamed into
place, so a reader, or a crash, sees the old file or the whole new one, never part of it. The
next writer on the same host removes the temporaries whose process is gone.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import math
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Hashable
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import yaml

from backtest.errors import OutputError

_TEMP_NAME = re.compile(r"^\..+\.(?P<host>[^.]+)-(?P<pid>\d+)\.tmp$")


def _host() -> str:
    return socket.gethostname().replace(".", "_")


def temp_path(path: Path) -> Path:
    """A hidden sibling of `path` that names this process: `.<name>.<host>-<pid>.tmp`."""
    path = Path(path)
    return path.with_name(f".{path.name}.{_host()}-{os.getpid()}.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temps(directory: Path) -> list[Path]:
    """Remove the temporary files and directories in `directory` left by processes of this host
    that no longer run (killed mid-write); return them. Other hosts' are left alone."""
    removed = []
    for path in Path(directory).glob(".*.tmp"):
        match = _TEMP_NAME.match(path.name)
        if match is None or match["host"] != _host() or _alive(int(match["pid"])):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def check_writable(path: Path | str, what: str = "results", option: str = "--out", file: bool = False) -> None:
    """OutputError unless the directory `path` (with `file`, the directory of the file `path`) or
    its nearest existing parent, where it will be created, is a directory a file can be written
    in. Called before any work, so an unwritable output fails at once rather than after it; it
    creates nothing. The one line names the path and the option: "<path>: cannot write <what>
    there (<why>); choose another <option>"."""
    path = Path(path)
    existing = (path.parent if file else path).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{existing} is not a directory")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise unwritable(path, exc, what, option) from None


def unwritable(path: Path | str, exc: OSError, what: str = "results", option: str = "--out") -> OutputError:
    """The OutputError of an output that could not be written (see `check_writable`)."""
    return OutputError(f"{path}: cannot write {what} there ({exc.strerror or exc}); choose another {option}")


def atomic_file(path: Path, write: Callable[[Path], Any]) -> Path:
    """Write a file by `write(temporary path)` and rename it into place."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_dir(path: Path, build: Callable[[Path], Any]) -> Path:
    """Build a directory by `build(temporary directory)` and rename it into place; on any
    failure nothing is left. An existing `path` is replaced only if it is empty."""
    path = Path(path)
    tmp = temp_path(path)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        build(tmp)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


_UNIQUE_KEY_LOADERS: dict = {}


def _unique_keys(loader):
    """`loader` refusing a key given twice in one mapping (YAML keeps the last, silently: a
    second `strategy:` would replace the first)."""
    if loader not in _UNIQUE_KEY_LOADERS:
        class UniqueKeys(loader):
            def construct_mapping(self, node, deep=False):
                seen = set()
                for key_node, _ in node.value:
                    key = self.construct_object(key_node, deep=deep)
                    if not isinstance(key, Hashable):
                        continue  # the constructor below refuses it in its own words
                    if key in seen:
                        raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
                    seen.add(key)
                return super().construct_mapping(node, deep)

        _UNIQUE_KEY_LOADERS[loader] = UniqueKeys
    return _UNIQUE_KEY_LOADERS[loader]


def read_yaml(path: Path, what: str, error: type[Exception], loader=yaml.SafeLoader, encoding: str = "utf-8") -> Any:
    """A YAML file's contents; `error` naming the file (and the line of a syntax error or of a key
    given twice) when it cannot be read or parsed: "<path>: cannot read the <what> (...)",
    "<path>: line N: invalid YAML in the <what> (...)"."""
    path = Path(path)
    try:
        text = path.read_text(encoding=encoding)
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read the {what} ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        return yaml.load(text, Loader=_unique_keys(loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark else ""
        raise error(f"{path}:{where} invalid YAML in the {what} ({getattr(exc, 'problem', None) or exc})") from None


def write_text(path: Path, text: str) -> Path:
    """`text` (UTF-8) written atomically to `path`."""
    return atomic_file(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(path: Path, value: Any, indent: int | None = 2) -> Path:
    """`json_safe(value)` written atomically to `path`."""
    return write_text(path, dumps(value, indent=indent))


def dumps(value: Any, indent: int | None = None) -> str:
    """Strict JSON text of `json_safe(value)` (no NaN, no infinities)."""
    return json.dumps(json_safe(value), indent=indent, allow_nan=False)


def json_safe(value: Any) -> Any:
    """A value as strict-JSON-ready Python, recursively: NaN and infinities -> None, numpy
    scalars -> Python numbers, dates and timestamps -> ISO dates, paths and periods -> text."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (str, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):  # pandas Timestamps too (NaT is not a datetime here)
        return value.date().isoformat() if value == value.replace(hour=0, minute=0, second=0, microsecond=0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
