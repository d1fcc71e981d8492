#!/usr/bin/env python3
"""Train the shipped demo model: a small LightGBM binary classifier on tickrail's own features.

The rows come from `tickrail features` (the engine's feature code, run over real Binance BTCUSDT
5-minute candles) with the feature list of config/engine.toml's [features] table, so the model is
trained on exactly the numbers the engine serves it and the shipped config can load it. Label:
1 if the close `--horizon-bars` bars ahead is above this bar's close (no fees), i.e. p_1 = "the
price goes up", p_0 = "it does not".

Walk-forward: the last `--folds` windows of `--window-frac` of the rows each get tested by a model
trained on every row before the window (an expanding window), less the rows whose label looks into
it (a purge of `--horizon-bars`). The last window is held out: the shipped model is the one trained
on all the rows before it, and its numbers on that window are the held-out result. Hyperparameters
are fixed in this file, not tuned on any window.

Writes NAME.onnx and NAME.json (the sidecar: features in order, label, training span, fold metrics,
library versions, the command) into --out, after a parity check: tickrail's own loader
(`tickrail model check`) against onnxruntime on every held-out row. Nothing is written when the
check fails.

Run from the repository root (one command; the pinned virtualenv is made on first use, see
make_fixtures.py):

    python3 tools/train/train_demo.py

Features the candle files cannot give (buy_share needs the trade sides, which exchange candles do
not carry) are kept as model inputs at a constant neutral value so the input list still equals
the engine's; a constant never becomes a split, and the script checks that no tree reads them.
Everything is deterministic: fixed seeds, one thread.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

# Importing make_fixtures makes sure the pinned packages are importable: when they are not, it
# creates the virtualenv and re-runs this script inside it.
import make_fixtures as fx  # noqa: E402

sys.path.insert(0, os.path.dirname(HERE))
from toml_write import toml_dump  # noqa: E402

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxmltools  # noqa: E402
import onnxruntime  # noqa: E402
import sklearn  # noqa: E402
from onnxmltools import convert_lightgbm  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score  # noqa: E402

SEED = fx.SEED
CANDLES = fx.CANDLES
BAR_MS = 300_000
# Feature kinds that candle files cannot give, and the value they take instead (the engine's own
# value for "nothing traded").
TRADE_ONLY = {"buy_share": 0.5}
PARAMS = dict(
    objective="binary",
    n_estimators=100,
    learning_rate=0.05,
    num_leaves=15,
    max_depth=5,
    min_child_samples=400,
    subsample=0.8,
    subsample_freq=1,
    colsample_bytree=0.8,
    reg_lambda=1.0,
    random_state=SEED,
    n_jobs=1,
    deterministic=True,
    force_row_wise=True,
    verbose=-1,
)
# The plugin's default `enter` (config/plugins/ml.json): how often and how well the model would trade.
ENTER = 0.55
# The most |tickrail - onnxruntime| may differ on any held-out probability.
PARITY_TOL = 1e-6


# ---------------------------------------------------------------- the engine's features


def write_features_toml(path, table):
    """A TOML file holding only a [features] table (what `tickrail features --config` reads)."""
    with open(path, "w") as f:
        f.write(toml_dump({"features": table}))


def tickrail_cmd(args):
    return shlex.split(args.tickrail) if args.tickrail else ["cargo", "run", "-q", "-p", "tickrail-engine", "--"]


def run_tickrail(args, *argv):
    cmd = tickrail_cmd(args) + list(argv)
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"train_demo: {shlex.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stderr.strip()


def export(args, table, tmp, tag):
    """`tickrail features` for `table`; returns (header, rows as float64 array, stats line)."""
    toml_path = os.path.join(tmp, f"{tag}.toml")
    csv_path = os.path.join(tmp, f"{tag}.csv")
    write_features_toml(toml_path, table)
    stats = run_tickrail(
        args, "features", "--candles", args.candles, "--config", toml_path, "--output", csv_path,
        "--horizon-bars", str(args.horizon_bars), "--fee-bps", "0", "--threshold-bps", "0",
    )
    with open(csv_path) as f:
        header = f.readline().strip().split(",")
        body = f.read()
    rows = np.loadtxt(body.splitlines(), delimiter=",", dtype=np.float64, ndmin=2) if body.strip() else np.empty((0, 0))
    return header, rows.reshape(-1, len(header)), stats.split(" → ")[0]


def engine_dataset(args, tmp):
    """The engine's feature rows for config's [features]; trade-only features filled in."""
    with open(args.config, "rb") as f:
        table = tomllib.load(f).get("features")
    if not isinstance(table, dict) or not table.get("list"):
        sys.exit(f"train_demo: {args.config} has no [features] list")
    header, rows, stats = export(args, table, tmp, "all")
    names = header[1:-2]
    constant = {}
    if len(rows) == 0:
        kept = [s for s in table["list"] if s.get("kind") not in TRADE_ONLY]
        dropped = [s for s in table["list"] if s.get("kind") in TRADE_ONLY]
        if not dropped or not kept:
            sys.exit(f"train_demo: `tickrail features` wrote no rows ({stats})")
        sub_header, rows, stats = export(args, dict(table, list=kept), tmp, "candle_only")
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
    if not np.isfinite(X).all():
        sys.exit("train_demo: the export holds non-finite features")
    return names, X, t_ms, fwd, y.astype(np.int64), constant, stats


# ---------------------------------------------------------------- walk-forward


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def windows(t_ms, folds, frac, horizon):
    """(train index, test index) per fold: expanding train, purged of labels that see the test window."""
    n = len(t_ms)
    w = int(n * frac)
    first = n - folds * w
    if first < w:
        sys.exit(f"train_demo: {folds} windows of {frac} leave too little to train on")
    out = []
    for k in range(folds):
        lo, hi = first + k * w, (first + (k + 1) * w if k < folds - 1 else n)
        cut = t_ms[lo] - horizon * BAR_MS  # a label at t looks at t + horizon bars
        train = np.flatnonzero(t_ms[:lo] < cut)
        out.append((train, np.arange(lo, hi)))
    return out


def metrics(y, p, fwd, prior):
    """AUC, accuracy, log loss (and that of always predicting the training prior), plus how the
    plugin's default threshold would trade: share of rows with a signal, its hit rate, mean move."""
    signal = (p >= ENTER) | (p <= 1 - ENTER)
    direction = np.where(p >= 0.5, 1.0, -1.0)
    hit = (np.sign(fwd) == direction)[signal]
    return {
        "rows": int(len(y)),
        "positives": round(float(y.mean()), 4),
        "auc": round(float(roc_auc_score(y, p)), 4),
        "accuracy": round(float(accuracy_score(y, p >= 0.5)), 4),
        "log_loss": round(float(log_loss(y, p, labels=[0, 1])), 5),
        "log_loss_prior": round(float(log_loss(y, np.full(len(y), prior), labels=[0, 1])), 5),
        "signal_share": round(float(signal.mean()), 4),
        "signal_hit_rate": round(float(hit.mean()), 4) if hit.size else None,
        "signal_mean_move_bps": round(float((direction * fwd)[signal].mean() * 1e4), 3) if hit.size else None,
    }


def train(X, y):
    return lgb.LGBMClassifier(**PARAMS).fit(X, y)


# ---------------------------------------------------------------- parity


def write_rows(path, names, X):
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for r in X:
            f.write(",".join(repr(float(v)) for v in r) + "\n")


def parity(args, onnx_path, names, X, native, tmp):
    rows_csv = os.path.join(tmp, "heldout.rows.csv")
    out_csv = os.path.join(tmp, "heldout.tickrail.csv")
    write_rows(rows_csv, names, X)
    onnxruntime.set_default_logger_severity(3)  # the converter's declared label shape [1] makes it warn per batch
    ref = fx.ort_outputs(onnx_path, X)
    msg = run_tickrail(args, "model", "check", "--model", onnx_path, "--input", rows_csv, "--output", out_csv)
    with open(out_csv) as f:
        cols = f.readline().strip().split(",")
        ours = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    if cols != ["p_0", "p_1"] or ours.shape != ref.shape:
        sys.exit(f"train_demo: tickrail model check wrote {cols} x {ours.shape}, expected p_0,p_1 x {ref.shape}")
    return {
        "rows": int(len(X)),
        "max_abs_tickrail_vs_onnxruntime": float(np.abs(ours - ref).max()),
        "max_abs_lightgbm_vs_onnxruntime": float(np.abs(native - ref).max()),
        "max_abs_tickrail_vs_lightgbm": float(np.abs(ours - native).max()),
        "tolerance": PARITY_TOL,
        "tickrail_model_check": msg.replace(tmp, "<tmp>"),
    }


# ---------------------------------------------------------------- main


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def split_features(model, n):
    """How many splits each input feature has in the trained booster."""
    counts = np.zeros(n, dtype=np.int64)
    for i, c in enumerate(model.booster_.feature_importance(importance_type="split")):
        counts[i] = c
    return counts


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--candles", default=os.path.join(os.path.dirname(REPO), "shared", "data", "candles", CANDLES),
                   help="BTCUSDT 5m candle CSV (default: ../shared/data/candles/" + CANDLES + ")")
    p.add_argument("--config", default=os.path.join(REPO, "config", "engine.toml"),
                   help="engine config whose [features] table the model reads")
    p.add_argument("--out", default=os.path.join(REPO, "config", "models"), help="output folder")
    p.add_argument("--name", default="btcusdt_5m_lgbm", help="model file name, without extension")
    p.add_argument("--horizon-bars", type=int, default=12, help="label horizon in bars (default 12 = 1 hour)")
    p.add_argument("--folds", type=int, default=5, help="walk-forward test windows; the last is held out")
    p.add_argument("--window-frac", type=float, default=0.1, help="share of the rows in each test window")
    p.add_argument("--tickrail", default=None,
                   help="tickrail command (default: cargo run -q -p tickrail-engine --)")
    args = p.parse_args()
    for k in ("candles", "config", "out"):
        setattr(args, k, os.path.abspath(getattr(args, k)))
    if not os.path.exists(args.candles):
        sys.exit(f"train_demo: {args.candles} not found (the shared candles, see ../shared/data/MANIFEST.md)")
    command = shlex.join(["python3", os.path.relpath(os.path.abspath(sys.argv[0]), REPO)] + sys.argv[1:])

    with tempfile.TemporaryDirectory(prefix="tickrail-train-demo-") as tmp:
        names, X, t_ms, fwd, y, constant, stats = engine_dataset(args, tmp)
        print(f"{len(y)} rows, {len(names)} features ({', '.join(names)}); {stats}")
        if constant:
            print(f"not in candle files, constant in training: {constant}")

        folds = []
        splits = windows(t_ms, args.folds, args.window_frac, args.horizon_bars)
        for k, (tr, te) in enumerate(splits):
            m = train(X[tr], y[tr])
            pr = m.predict_proba(X[te])[:, 1]
            f = {
                "fold": k + 1,
                "held_out": k == len(splits) - 1,
                "train": {"from": iso(t_ms[tr[0]]), "to": iso(t_ms[tr[-1]]), "rows": int(len(tr))},
                "test": {"from": iso(t_ms[te[0]]), "to": iso(t_ms[te[-1]]), "rows": int(len(te))},
                **metrics(y[te], pr, fwd[te], float(y[tr].mean())),
            }
            folds.append(f)
            print(f"fold {f['fold']}{' (held out)' if f['held_out'] else ''}: test {f['test']['from'][:10]}.."
                  f"{f['test']['to'][:10]}  auc={f['auc']:.4f}  acc={f['accuracy']:.4f}  "
                  f"logloss={f['log_loss']:.5f} (prior {f['log_loss_prior']:.5f})  "
                  f"signal {f['signal_share']:.3f} hit {f['signal_hit_rate']}")
        final, (tr, te) = m, splits[-1]
        splits_per_feature = split_features(final, len(names))
        for n in constant:
            if splits_per_feature[names.index(n)]:
                sys.exit(f"train_demo: the model splits on {n}, which the candle files cannot give")
        walk = [f for f in folds if not f["held_out"]]
        mean = {k: round(float(np.mean([f[k] for f in walk])), 5) for k in ("auc", "accuracy", "log_loss")}
        print(f"walk-forward mean over {len(walk)} folds: {mean}")

        onx = convert_lightgbm(final, initial_types=fx.initial_types(len(names)), zipmap=True)
        onx.producer_name = "tickrail-train-demo"
        onx.graph.name = args.name  # the converter names it with a random UUID
        # ... and lists the opsets in set order, which varies with the string hash seed.
        opsets = sorted(((o.domain, o.version) for o in onx.opset_import))
        del onx.opset_import[:]
        onx.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in opsets)
        stage = os.path.join(tmp, "model")
        os.makedirs(stage)
        onnx_path = os.path.join(stage, args.name + ".onnx")
        json_path = os.path.join(stage, args.name + ".json")
        onnx.save_model(onx, onnx_path)
        meta = {
            "features": names,
            "label": {
                "definition": f"1 if close[t + {args.horizon_bars}] > close[t] (the price goes up over the next "
                              f"{args.horizon_bars} bars), else 0; p_1 = the price goes up",
                "horizon_bars": args.horizon_bars,
                "fee_bps": 0,
                "threshold_bps": 0,
            },
            "kind": "classifier",
            "library": "lightgbm",
            "params": PARAMS,
            "trees": int(final.booster_.num_trees()),
            "onnx_bytes": os.path.getsize(onnx_path),
            "onnx_sha256": sha256(onnx_path),
            "training_span": {
                "train_from": iso(t_ms[tr[0]]),
                "train_to": iso(t_ms[tr[-1]]),
                "train_rows": int(len(tr)),
                "held_out_from": iso(t_ms[te[0]]),
                "held_out_to": iso(t_ms[te[-1]]),
                "held_out_rows": int(len(te)),
            },
            "constant_features": {
                n: {"value": v, "why": "not in exchange candle files (needs trade sides); constant in training, "
                                       "no tree splits on it"} for n, v in constant.items()
            },
            "splits_per_feature": dict(zip(names, map(int, splits_per_feature))),
            "folds": folds,
            "walk_forward_mean": mean,
            "held_out": {k: v for k, v in folds[-1].items() if k not in ("fold", "held_out")},
            "source": {
                "data": f"Binance spot BTCUSDT 5m candles ({os.path.basename(args.candles)})",
                "sha256": sha256(args.candles),
                "export": stats,
            },
            "versions": {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "lightgbm": lgb.__version__,
                "scikit-learn": sklearn.__version__,
                "onnx": onnx.__version__,
                "onnxmltools": onnxmltools.__version__,
                "onnxruntime": onnxruntime.__version__,
            },
            "command": command,
        }
        with open(json_path, "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        native = final.predict_proba(X[te])
        check = parity(args, onnx_path, names, X[te], native, tmp)
        print(f"parity on {check['rows']} held-out rows: max|tickrail-ort|={check['max_abs_tickrail_vs_onnxruntime']:.3e}"
              f"  max|lightgbm-ort|={check['max_abs_lightgbm_vs_onnxruntime']:.3e}  ({check['tickrail_model_check']})")
        if not check["max_abs_tickrail_vs_onnxruntime"] <= PARITY_TOL:
            sys.exit(f"train_demo: parity check failed (tolerance {PARITY_TOL}); nothing written")
        meta["parity"] = check
        with open(json_path, "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        os.makedirs(args.out, exist_ok=True)
        for src in (onnx_path, json_path):
            shutil.copyfile(src, os.path.join(args.out, os.path.basename(src)))
        size = os.path.getsize(onnx_path)
        print(f"wrote {os.path.join(args.out, args.name)}.onnx ({size} B, sha256 {sha256(onnx_path)[:16]}) and .json")


if __name__ == "__main__":
    main()
