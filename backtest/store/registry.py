"""The run registry: every `run` and `sweep`, one row each, in `<out>/registry.sqlite`.

    id                 the run id (= the run directory's name) or the sweep id
    kind               "run" | "sweep"
    created            UTC time, ISO 8601
    config_hash        sha256 of the resolved config (backtest.store.rundir.config_hash)
    strategy           the strategy's name (or its file's stem)
    params             the strategy's parameters (JSON)
    data_fingerprint   sha256 over the sorted hashes of the data files the run read
    stats              {"strategy": {...}, "benchmark": {...} | null} (JSON; a sweep: its best)
    path               the run (or sweep) directory, absolute; may be null
    start, end         first and last date of the run's calendar
    config             the resolved config (JSON)
    extra              anything kind-specific (JSON): a sweep's grid, combinations, best params

SQLite in WAL mode with a busy timeout: several commands may write at once (a sweep and a run,
several sweeps). Every write is one short transaction; readers never block writers.

The public surface is small: `record_run` and `record_sweep` write; `list_runs`, `get_run`
(exact id or unique prefix) and `remove_run` read and delete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from backtest.errors import UserError
from backtest.io import json_safe
from backtest.store.rundir import config_hash

DB_NAME = "registry.sqlite"
BUSY_TIMEOUT_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('run', 'sweep')),
    created          TEXT NOT NULL,
    config_hash      TEXT,
    strategy         TEXT,
    params           TEXT,
    data_fingerprint TEXT,
    stats            TEXT,
    path             TEXT,
    start            TEXT,
    "end"            TEXT,
    config           TEXT,
    extra            TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created);
CREATE INDEX IF NOT EXISTS runs_strategy ON runs (strategy);
"""

_COLUMNS = ("id", "kind", "created", "config_hash", "strategy", "params", "data_fingerprint",
            "stats", "path", "start", "end", "config", "extra")
_JSON_COLUMNS = ("params", "stats", "config", "extra")


class RegistryError(UserError):
    """An unknown or ambiguous run id, or no registry where one was expected."""


@dataclass(frozen=True)
class RunRecord:
    id: str
    kind: str
    created: str
    config_hash: str | None
    strategy: str | None
    params: dict | None
    data_fingerprint: str | None
    stats: dict | None
    path: str | None
    start: str | None
    end: str | None
    config: dict | None
    extra: dict | None

    @property
    def created_local(self) -> str:
        """The creation time in the local time zone, to the second."""
        return dt.datetime.fromisoformat(self.created).astimezone().strftime("%Y-%m-%d %H:%M:%S")

    @property
    def strategy_stats(self) -> dict:
        return (self.stats or {}).get("strategy") or {}

    @property
    def benchmark_stats(self) -> dict | None:
        return (self.stats or {}).get("benchmark")

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in _COLUMNS}


# --- connection -------------------------------------------------------------------------------


def db_path(root: Path | str) -> Path:
    return Path(root) / DB_NAME


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _retrying(fn, deadline_s: float = BUSY_TIMEOUT_S):
    """Call fn(), retrying on 'database is locked' (which the busy handler cannot always absorb,
    e.g. when switching a fresh file to WAL) until the deadline."""
    deadline = time.monotonic() + deadline_s
    delay = 0.005
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _retrying(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute("PRAGMA synchronous = NORMAL")
        _retrying(lambda: conn.executescript(_SCHEMA))
    except BaseException:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def connect(root: Path | str, create: bool = True):
    """A connection to `<root>/registry.sqlite` (created with its schema when `create`)."""
    path = db_path(root)
    if not path.exists():
        if not create:
            raise RegistryError(f"{path}: no run registry here (run `backtest run` first, or pass --out)")
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = _open(path)
    try:
        yield conn
    finally:
        conn.close()


# --- writing ----------------------------------------------------------------------------------


def _now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def data_fingerprint(data_files) -> str | None:
    """sha256 over the sorted content hashes of the data files (path-independent).

    Accepts the manifest's `data_files` as {path: hash}, a list of {"path", "sha256"|"hash"}
    records, or a list of paths (then the paths themselves are hashed)."""
    if not data_files:
        return None
    if isinstance(data_files, dict):
        items = [v if isinstance(v, str) else json.dumps(v, sort_keys=True) for v in data_files.values()]
    else:
        items = []
        for entry in data_files:
            if isinstance(entry, dict):
                value = entry.get("sha256") or entry.get("hash") or json.dumps(entry, sort_keys=True)
            else:
                value = str(entry)
            items.append(value)
    return hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()


def _strategy_of(config_dict: dict) -> tuple[str | None, dict | None]:
    block = (config_dict or {}).get("strategy") or {}
    name = block.get("name") or (Path(block["file"]).stem if block.get("file") else None)
    return name, block.get("params")


def _dumps(value) -> str | None:
    return None if value is None else json.dumps(json_safe(value), default=str)


def _insert(root: Path | str, row: dict) -> None:
    values = [row.get(name) for name in _COLUMNS]
    names = ", ".join(f'"{c}"' for c in _COLUMNS)
    marks = ", ".join("?" for _ in _COLUMNS)
    with connect(root) as conn:
        _retrying(lambda: conn.execute(f"INSERT OR REPLACE INTO runs ({names}) VALUES ({marks})", values))


def _manifest_files(run_dir) -> object:
    if run_dir is None:
        return None
    try:
        return json.loads((Path(run_dir) / "manifest.json").read_text()).get("data_files")
    except (OSError, ValueError, AttributeError):
        return None


def record_run(
    root: Path | str,
    run_id: str,
    config_dict: dict,
    summary: dict,
    run_dir: Path | str | None = None,
    data_files=None,
    created: str | None = None,
) -> None:
    """Record one backtest run.

    summary: what `RunResult.summary` returns ({"start", "end", "strategy", "benchmark"}).
    data_files: the manifest's data file hashes; read from `<run_dir>/manifest.json` when omitted.
    """
    if data_files is None:
        data_files = _manifest_files(run_dir)
    _record_row(
        root, "run", run_id, config_dict,
        stats={"strategy": summary.get("strategy"), "benchmark": summary.get("benchmark")},
        path=run_dir, start=summary.get("start"), end=summary.get("end"),
        data_files=data_files, created=created, extra=None,
    )


def try_record(record, root: Path | str, record_id: str, *args, **kwargs) -> str | None:
    """`record(root, record_id, ...)` (`record_run` or `record_sweep`) for a run or sweep whose
    directory is already whole: a registry that cannot be written is a warning (returned as one
    line), not a failure."""
    try:
        record(root, record_id, *args, **kwargs)
    except (sqlite3.Error, OSError) as exc:
        return f"warning: {record_id} not recorded in {db_path(root)}: {exc}"
    return None


def record_sweep(
    root: Path | str,
    sweep_id: str,
    config_dict: dict,
    grid: dict,
    n_combinations: int,
    best_stats: dict | None,
    *,
    best_params: dict | None = None,
    benchmark_stats: dict | None = None,
    path: Path | str | None = None,
    start: str | None = None,
    end: str | None = None,
    data_files=None,
    created: str | None = None,
    extra: dict | None = None,
) -> None:
    """Record one sweep: its base config, the grid it swept, and the best combination's stats.

    grid: {dotted.key: [values]}; best_stats: the best combination's strategy statistics;
    best_params: that combination's overrides or parameters; extra: anything else to keep
    (e.g. the ranking metric), merged into the `extra` column. start/end default to the
    "start"/"end" of best_stats (as `backtest.stats.performance` returns them)."""
    if data_files is None and path is not None:
        data_files = _manifest_files(path)
    _record_row(
        root, "sweep", sweep_id, config_dict,
        stats={"strategy": best_stats, "benchmark": benchmark_stats},
        path=path, start=start or (best_stats or {}).get("start"), end=end or (best_stats or {}).get("end"),
        data_files=data_files, created=created,
        extra={"grid": grid, "n_combinations": n_combinations, "best_params": best_params, **(extra or {})},
    )


def _record_row(root, kind, record_id, config_dict, *, stats, path, start, end, data_files, created, extra) -> None:
    """One registry row, the same fields for runs and sweeps."""
    name, params = _strategy_of(config_dict)
    _insert(
        root,
        {
            "id": record_id,
            "kind": kind,
            "created": created or _now_utc(),
            "config_hash": config_hash(config_dict),
            "strategy": name,
            "params": _dumps(params),
            "data_fingerprint": data_fingerprint(data_files),
            "stats": _dumps(stats),
            "path": str(Path(path).resolve()) if path is not None else None,
            "start": start,
            "end": end,
            "config": _dumps(config_dict),
            "extra": _dumps(extra),
        },
    )


# --- reading ----------------------------------------------------------------------------------


def _record(row: tuple) -> RunRecord:
    values = dict(zip(_COLUMNS, row))
    for name in _JSON_COLUMNS:
        if values[name] is not None:
            values[name] = json.loads(values[name])
    return RunRecord(**values)


_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in _COLUMNS) + " FROM runs"


def parse_since(text: str) -> str:
    """A date (YYYY-MM-DD) or date-time in local time -> the UTC ISO string stored in `created`."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise RegistryError(f"--since {text!r}: expected a date YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    if when.tzinfo is None:
        when = when.astimezone()  # naive: local time
    return when.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def list_runs(
    root: Path | str,
    strategy: str | None = None,
    since: str | None = None,
    kind: str | None = None,
) -> list[RunRecord]:
    """Every recorded run, oldest first; filtered by strategy name, kind and creation time
    (`since`: a date or date-time, local time). No registry yet: an empty list."""
    if not db_path(root).exists():
        return []
    where, args = [], []
    if strategy:
        where.append("strategy = ?")
        args.append(strategy)
    if kind:
        where.append("kind = ?")
        args.append(kind)
    if since:
        where.append("created >= ?")
        args.append(parse_since(since))
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY created, id"
    with connect(root) as conn:
        return [_record(row) for row in conn.execute(sql, args).fetchall()]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_run(root: Path | str, id_or_prefix: str) -> RunRecord | None:
    """The run with this id, or the one whose id starts with it; None if none;
    RegistryError if the prefix is ambiguous."""
    if not id_or_prefix or not db_path(root).exists():
        return None
    with connect(root) as conn:
        row = conn.execute(_SELECT + " WHERE id = ?", (id_or_prefix,)).fetchone()
        if row is not None:
            return _record(row)
        rows = conn.execute(
            _SELECT + " WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 6", (_escape_like(id_or_prefix) + "%",)
        ).fetchall()
    if not rows:
        return None
    if len(rows) > 1:
        ids = ", ".join(r[0] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        raise RegistryError(f"run id {id_or_prefix!r} is ambiguous: {ids}")
    return _record(rows[0])


def get_run(root: Path | str, id_or_prefix: str) -> RunRecord:
    """Like find_run, but an unknown id is a RegistryError (exit 2)."""
    record = find_run(root, id_or_prefix)
    if record is None:
        raise RegistryError(f"unknown run id {id_or_prefix!r} in {db_path(root)}")
    return record


def remove_run(root: Path | str, id_or_prefix: str) -> RunRecord:
    """Delete the run's row and its directory; return what was removed."""
    record = get_run(root, id_or_prefix)
    with connect(root) as conn:
        _retrying(lambda: conn.execute("DELETE FROM runs WHERE id = ?", (record.id,)))
    if record.path:
        path = Path(record.path)
        root_dir = Path(root).resolve()
        # the run's own directory, never the results root or one of its parents by mistake
        if path.is_dir() and path.resolve() not in (root_dir, *root_dir.parents):
            shutil.rmtree(path, ignore_errors=True)
    return record
