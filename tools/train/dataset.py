"""The training rows, from the engine itself: `tickrail features` over candles gives the exact
feature vectors the live engine computes, the label, and (a second export with a 1-bar horizon
and no fees) each bar's own forward return, which the trading figures are computed from.

Features the candle files cannot give (buy_share needs the trade sides, which exchange candles do
not carry) are kept as model inputs at a constant neutral value, so the input list still equals
the engine's configured list; a constant never becomes a split, and the caller checks that no
tree reads one.
"""

import os
import shlex
import subprocess
import tomllib

import numpy as np

from toml_write import toml_dump

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BAR_MS = 300_000
# Feature kinds that candle files cannot give, and the value they take instead (the engine's own
# value for "nothing traded").
TRADE_ONLY = {"buy_share": 0.5}


class DataError(RuntimeError):
    pass


def tickrail_cmd(tickrail):
    return shlex.split(tickrail) if tickrail else ["cargo", "run", "-q", "-p", "tickrail-engine", "--"]


def run_tickrail(tickrail, *argv):
    """Runs a tickrail command; its stderr (the summary line) on success."""
    cmd = tickrail_cmd(tickrail) + list(argv)
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        raise DataError(f"{shlex.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stderr.strip()


def feature_table(config):
    """The [features] table of an engine config."""
    with open(config, "rb") as f:
        table = tomllib.load(f).get("features")
    if not isinstance(table, dict) or not table.get("list"):
        raise DataError(f"{config} has no [features] list")
    return table


def export(tickrail, candles, table, tmp, tag, horizon, fee_bps, threshold_bps):
    """`tickrail features` for `table`; returns (header, rows as float64 array, stats line)."""
    toml_path = os.path.join(tmp, f"{tag}.toml")
    csv_path = os.path.join(tmp, f"{tag}.csv")
    with open(toml_path, "w") as f:
        f.write(toml_dump({"features": table}))
    stats = run_tickrail(
        tickrail, "features", "--candles", candles, "--config", toml_path, "--output", csv_path,
        "--horizon-bars", str(horizon), "--fee-bps", repr(fee_bps), "--threshold-bps", repr(threshold_bps),
    )
    with open(csv_path) as f:
        header = f.readline().strip().split(",")
        body = f.read()
    rows = np.loadtxt(body.splitlines(), delimiter=",", dtype=np.float64, ndmin=2) if body.strip() else np.empty((0, 0))
    return header, rows.reshape(-1, len(header)), stats.split(" → ")[0]


class Dataset:
    """names: the engine's feature names in order; X, t_ms, fwd (label's net log return), y;
    ret_1: each row's next-bar simple return (NaN where the next bar is missing);
    constant: {name: value} of the features the candles cannot give; stats: the export line."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def load(tickrail, candles, config, tmp, horizon, fee_bps, threshold_bps):
    table = feature_table(config)
    label = (horizon, fee_bps, threshold_bps)
    header, rows, stats = export(tickrail, candles, table, tmp, "all", *label)
    names = header[1:-2]
    constant = {}
    used = table
    if len(rows) == 0:
        kept = [s for s in table["list"] if s.get("kind") not in TRADE_ONLY]
        dropped = [s for s in table["list"] if s.get("kind") in TRADE_ONLY]
        if not dropped or not kept:
            raise DataError(f"`tickrail features` wrote no rows ({stats})")
        used = dict(table, list=kept)
        sub_header, rows, stats = export(tickrail, candles, used, tmp, "candle_only", *label)
        # The names the engine gives the dropped features: the full header less the kept ones.
        for n in names:
            if n not in sub_header:
                kind = next(k for k in TRADE_ONLY if n.startswith(k + "_"))
                constant[n] = TRADE_ONLY[kind]
        col = {n: i for i, n in enumerate(sub_header)}
        X = np.stack([rows[:, col[n]] if n in col else np.full(len(rows), constant[n]) for n in names], axis=1)
        t_ms, fwd, y = rows[:, 0].astype(np.int64), rows[:, col["fwd_return"]], rows[:, col["label"]]
    else:
        X, t_ms, fwd, y = rows[:, 1:-2], rows[:, 0].astype(np.int64), rows[:, -2], rows[:, -1]
    if len(rows) == 0:
        raise DataError(f"`tickrail features` wrote no rows ({stats})")
    if not np.isfinite(X).all():
        raise DataError("the export holds non-finite features")
    # The next bar's return, from the engine too: horizon 1, no fees; joined on the open time.
    h1, rows1, _ = export(tickrail, candles, used, tmp, "next_bar", 1, 0.0, 0.0)
    nxt = dict(zip(rows1[:, 0].astype(np.int64).tolist(), np.expm1(rows1[:, h1.index("fwd_return")]).tolist()))
    ret_1 = np.array([nxt.get(t, np.nan) for t in t_ms.tolist()], dtype=np.float64)
    return Dataset(names=names, X=X, t_ms=t_ms, fwd=fwd, y=y.astype(np.int64), ret_1=ret_1,
                   constant=constant, stats=stats)


def write_rows(path, names, X):
    """Rows as `tickrail model check --input` reads them."""
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for r in X:
            f.write(",".join(repr(float(v)) for v in r) + "\n")
