"""Real-valued series for forecasting: the bundled ones, CSV columns, and the time split.

    --data sunspots | co2 | nile | airline     ../shared/data/timeseries (SOURCE.md), per-series defaults below
    --data FILE.csv --column NAME              a header row (or none: columns are 1, 2, ...), one value per row

    series  x[0] ... x[n-1]
            |------- train -------|--- val ---|--- test ---|
                                  val_start    test_start   n
    Origin o (the first forecast step) sees x[:o]; its targets x[o:o + horizon] lie inside one part.

Errors name the file and line: a missing column (with the columns there are), a value that is no
number, an empty file, a series too short for the horizon, an unknown bundled name.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RnnlabError, require
from ..text.shared_data import find_folder


@dataclass(frozen=True)
class Bundled:
    """A bundled series and its defaults (seasonality from its frequency, as SOURCE.md records it)."""
    file: str
    column: str
    season: int          # period in steps; 1: none (MASE and the seasonal baseline then use the last value)
    horizon: int         # values forecast from each origin
    window: int          # past values the model reads
    transform: str       # none, or log for multiplicative growth
    difference: str      # none, or seasonal (the windows' seasonal differences; forecast_windows)
    about: str


# season from the frequency SOURCE.md records; window and difference chosen on the recurrent model's mean
# validation MASE over seeds 1-3 (sunspots window 64 over 132; co2 seasonal differences of 12 over 36, or
# relative windows; airline seasonal differences over relative windows)
BUNDLED = {
    "sunspots": Bundled("sunspots_monthly.csv", "sunspots", 132, 12, 64, "none", "none",
                        "monthly mean sunspot number 1749-2009; the ~11-year cycle is 132 months"),
    "co2": Bundled("co2_weekly.csv", "co2", 12, 12, 12, "none", "seasonal",
                   "Mauna Loa CO2 (ppmv) 1958-2001, weekly values averaged per month (months without any "
                   "interpolated); yearly seasonality, 12 months"),
    "nile": Bundled("nile.csv", "volume", 1, 5, 10, "none", "none",
                    "annual Nile flow at Aswan 1871-1970 (10^8 m^3); no seasonality"),
    "airline": Bundled("airline_passengers.csv", "Passengers", 12, 12, 24, "log", "seasonal",
                       "monthly airline passengers 1949-1960 (Box & Jenkins series G); seasonality 12, "
                       "multiplicative growth (log transform)"),
}


@dataclass
class Series:
    """The values of a series with where they came from."""
    values: np.ndarray        # (n,) float64
    name: str                 # the bundled name, or the file and column
    path: Path
    fingerprint: str          # sha256 of the file
    bundled: Bundled | None = None


def _number(text: str, where: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise RnnlabError(f"{where}: {text[:30]!r} in column {column!r} is not a number",
                          "give one number per row in that column (or choose another with --column)") from None
    require(math.isfinite(value), f"{where}: {text!r} in column {column!r} is not a finite number",
            "remove or fill in that value")
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def read_column(path: str | Path, column: str | None = None, allow_missing: bool = False) -> tuple[list[str], list]:
    """(the first column's entries, the values of `column`) of a CSV file, in file order. The first row is a
    header unless every field of it is a number (then columns are named 1, 2, ...). column None: the last
    one. allow_missing: empty cells become None instead of an error."""
    path = Path(path).expanduser()
    require(path.is_file(), f"no such file: {path}", "give a CSV file or a bundled series: " + ", ".join(BUNDLED))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RnnlabError(f"{path} is not UTF-8 text", "give a CSV file of numbers") from None
    rows = [(k, r) for k, r in enumerate(csv.reader(io.StringIO(text)), 1) if any(f.strip() for f in r)]
    require(rows, f"{path} is empty", "give a CSV file with a header row and one value per row")
    header = [f.strip() for f in rows[0][1]]
    if all(_is_number(f) for f in header):
        header = [str(i + 1) for i in range(len(header))]
    else:
        rows = rows[1:]
        require(rows, f"{path} has a header ({', '.join(header)}) but no values", "add one row per time step")
    name = column if column is not None else header[-1]
    require(name in header, f"{path} has no column {name!r} (its columns: {', '.join(header)})",
            f"pass --column {header[-1]}" if len(header) > 1 else "name the column of values with --column")
    j = header.index(name)
    keys, values = [], []
    for number, row in rows:
        where = f"{path} line {number}"
        cell = row[j].strip() if j < len(row) else ""
        keys.append(row[0].strip() if row else "")
        if cell == "":
            require(allow_missing, f"{where} has no value in column {name!r}",
                    "fill in or drop the missing values (e.g. interpolate them)")
            values.append(None)
        else:
            values.append(_number(cell, where, name))
    return keys, values


def weekly_to_monthly(dates: list[str], values: list) -> np.ndarray:
    """Mean of the values of each calendar month (YYYYMMDD dates); months without any are interpolated."""
    months = [int(d[:4]) * 12 + int(d[4:6]) - 1 for d in dates]
    first, last = min(months), max(months)
    total, count = np.zeros(last - first + 1), np.zeros(last - first + 1)
    for m, v in zip(months, values):
        if v is not None:
            total[m - first] += v
            count[m - first] += 1
    have = count > 0
    out = np.divide(total, count, out=np.zeros_like(total), where=have)
    t = np.arange(len(out))
    return np.interp(t, t[have], out[have])


def load_series(data: str, column: str | None = None) -> Series:
    """A bundled series by name, or a CSV file's column (see the module docstring)."""
    spec = BUNDLED.get(data)
    if spec is not None:
        folder = find_folder("timeseries")
        require(folder is not None, f"the bundled series live in the shared data folder (timeseries/), which is "
                "not here", "set RNNLAB_DATA to the folder holding timeseries/, or give a CSV file")
        path = folder / spec.file
        dates, values = read_column(path, spec.column, allow_missing=data == "co2")
        series = weekly_to_monthly(dates, values) if data == "co2" else np.array(values, dtype=np.float64)
        return Series(series, data, path, _sha256(path), spec)
    looks_like_name = not any(c in data for c in "./\\") and not Path(data).exists()
    require(not looks_like_name, f"unknown series {data!r}", "use one of the bundled series (" +
            ", ".join(BUNDLED) + ") or a CSV file")
    keys, values = read_column(data, column)
    return Series(np.array(values, dtype=np.float64), f"{Path(data).name}:{column or 'last column'}",
                  Path(data).expanduser(), _sha256(Path(data).expanduser()))


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Split:
    """Where the parts of a series begin; origins are the first forecast step of each forecast."""
    n: int
    val_start: int
    test_start: int
    lookback: int        # values an origin needs behind it (the window, and the differencing lag)
    horizon: int

    def origins(self, part: str) -> np.ndarray:
        """Every origin with `lookback` values behind it whose targets lie inside `part`."""
        lo, hi = {"train": (self.lookback, self.val_start), "val": (self.val_start, self.test_start),
                  "test": (self.test_start, self.n)}[part]
        return np.arange(max(lo, self.lookback), hi - self.horizon + 1)


MIN_TRAIN_WINDOWS = 8


def make_split(n: int, lookback: int, horizon: int, val_frac: float, test_frac: float, name: str = "the series",
               season: int = 1) -> Split:
    """The last test_frac of the points (at least one horizon) are the test tail, the val_frac before them
    the validation part; the rest trains. lookback: the window (plus the differencing lag). RnnlabError when
    the horizon, window or season is too long for n."""
    n_test = max(horizon, int(round(test_frac * n)))
    n_val = max(horizon, int(round(val_frac * n)))
    train = max(lookback + horizon + MIN_TRAIN_WINDOWS - 1, season + 1)
    need = train + n_val + n_test
    require(n >= need, f"{name} has {n} values; --horizon {horizon} with a lookback of {lookback}"
            + (f" and --season {season}" if season > 1 else "") + f" needs at least {need} ({train} to train on, "
            f"{n_val} to validate, {n_test} to test)",
            "use a shorter --horizon, --window or --season, or a longer series")
    return Split(n, n - n_test - n_val, n - n_test, lookback, horizon)
