#!/usr/bin/env python3
"""Train a tree-ensemble classifier on tickrail's own features, validate it walk-forward with a
purge and an embargo, report how it would have traded on every fold next to two baselines, and
export it as ONNX with a metadata sidecar — after checking that tickrail's own loader gives the
same probabilities as onnxruntime.

Data: `tickrail features` over the candles with the [features] table of --config (the engine's
exact feature vectors) and its label: 1 when ln(close[t+h] / close[t]) - 2 * fee / 10^4 is above
the threshold (`--horizon-bars`, `--label-fee-bps`, `--threshold-bps`), so p_1 = "a round trip
held h bars pays". Models: `--model lightgbm | xgboost | sklearn` (scikit-learn's gradient
boosting, exported by skl2onnx).

Validation (walkforward.py): the last `--folds` windows of `--window-frac` of the rows are tested
in time order, each by a model trained on the rows before it less the purge (rows whose label
reaches into the window) and the embargo (`--embargo-bars` bars after every earlier window). The
last window is held out: the exported model is the one trained for it, and its figures there are
the held-out result. `--tune N` runs N optuna trials per fold on that fold's training rows only
(tune.py); without optuna installed it says so and uses the fixed parameters.

Per fold: AUC, accuracy, log loss (and that of always predicting the training base rate), and the
trading figures of trading.py — profit factor, Sharpe (365-day year), max drawdown, trades, total
return, net of `--fee-bps` per side — for the model (long when p_1 >= --enter, short when
p_1 <= 1 - enter, flat otherwise) and for the baselines always-long and no-trade on the same bars.

Writes NAME.onnx and NAME.json into --out (the sidecar: features in order, label, horizon, fees,
training span, folds and their figures, library versions, the command, the ONNX's sha256) only
when `tickrail model check` and onnxruntime agree within 1e-6 on every held-out row.

`--preset demo` retrains the shipped demo model (config/models/btcusdt_5m_lgbm.onnx, byte for
byte) with the parameters it was made with. Run from the repository root; the pinned virtualenv
is made on first use (see make_fixtures.py). Deterministic: fixed seeds, one thread.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

# Importing make_fixtures makes sure the pinned packages are importable: when they are not, it
# creates the virtualenv and re-runs this script inside it.
import make_fixtures as fx  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score  # noqa: E402

import dataset  # noqa: E402
import learners  # noqa: E402
import trading  # noqa: E402
import tune  # noqa: E402
import walkforward  # noqa: E402

# The most |tickrail - onnxruntime| may differ on any held-out probability.
PARITY_TOL = 1e-6
PRESETS = {
    # The shipped model: direction over an hour (label without fees), no embargo, the LightGBM
    # parameters it was trained with.
    "demo": dict(model="lightgbm", name="btcusdt_5m_lgbm", out=os.path.join(REPO, "config", "models"),
                 label_fee_bps=0.0, embargo_bars=0, producer="tickrail-train-demo"),
}


class TrainError(RuntimeError):
    pass


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def timeframe_ms(tf):
    units = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    try:
        return int(tf[:-1]) * units[tf[-1]]
    except (KeyError, ValueError, IndexError):
        raise TrainError(f"features.timeframe {tf!r} is not like 5m, 1h, 1d") from None


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def classification(y, p, fwd, prior, enter):
    """AUC, accuracy, log loss (and that of always predicting the training prior), plus how often
    p_1 crosses `enter` either way, how often its direction was right and the mean net move."""
    signal = (p >= enter) | (p <= 1 - enter)
    direction = np.where(p >= 0.5, 1.0, -1.0)
    hit = (np.sign(fwd) == direction)[signal]
    return {
        "rows": int(len(y)),
        "positives": round(float(y.mean()), 4),
        "auc": round(float(roc_auc_score(y, p)), 4) if len(np.unique(y)) == 2 else None,
        "accuracy": round(float(accuracy_score(y, p >= 0.5)), 4),
        "log_loss": round(float(log_loss(y, p, labels=[0, 1])), 5),
        "log_loss_prior": round(float(log_loss(y, np.full(len(y), prior), labels=[0, 1])), 5),
        "signal_share": round(float(signal.mean()), 4),
        "signal_hit_rate": round(float(hit.mean()), 4) if hit.size else None,
        "signal_mean_move_bps": round(float((direction * fwd)[signal].mean() * 1e4), 3) if hit.size else None,
    }


def label_definition(a):
    if a.label_fee_bps == 0 and a.threshold_bps == 0:
        return (f"1 if close[t + {a.horizon_bars}] > close[t] (the price goes up over the next "
                f"{a.horizon_bars} bars), else 0; p_1 = the price goes up")
    return (f"1 if ln(close[t + {a.horizon_bars}] / close[t]) - 2 * {a.label_fee_bps:g} / 1e4 > "
            f"{a.threshold_bps:g} / 1e4 (a round trip held {a.horizon_bars} bars pays its fees by more than "
            f"the threshold), else 0; p_1 = it does")


def parse_args(argv):
    """The options, with a preset's defaults under the ones given."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--preset", choices=sorted(PRESETS))
    preset = PRESETS.get(pre.parse_known_args(argv)[0].preset, {})

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), help="a named set of defaults (demo: the shipped model)")
    p.add_argument("--model", choices=sorted(learners.DEFAULTS), default="lightgbm", help="library (default lightgbm)")
    p.add_argument("--candles", default=os.path.join(os.path.dirname(REPO), "shared", "data", "candles", fx.CANDLES),
                   help="candle CSV(.gz) file or folder (default: ../shared/data/candles/" + fx.CANDLES + ")")
    p.add_argument("--config", default=os.path.join(REPO, "config", "engine.toml"),
                   help="engine config whose [features] table the model reads (default config/engine.toml)")
    p.add_argument("--out", default=os.path.join(REPO, "target", "train"), help="output folder (default target/train)")
    p.add_argument("--name", default=None, help="model file name without extension (default model_<library>)")
    p.add_argument("--horizon-bars", type=int, default=12, help="label horizon in bars (default 12 = 1 hour)")
    p.add_argument("--fee-bps", type=float, default=10.0,
                   help="fee per side in basis points, paid by the trading figures (default 10, Binance's taker fee)")
    p.add_argument("--label-fee-bps", type=float, default=None,
                   help="fee per side the label is net of (default: --fee-bps)")
    p.add_argument("--threshold-bps", type=float, default=0.0, help="net forward return above which the label is 1")
    p.add_argument("--enter", type=float, default=0.55,
                   help="trading rule: long when p_1 >= enter, short when p_1 <= 1 - enter (default 0.55, the ml plugin's)")
    p.add_argument("--sides", choices=["both", "long"], default=None,
                   help="trading rule: short below 1 - enter too (both) or only go flat there (long); default both "
                        "for a direction label (no label fee, no threshold), long otherwise")
    p.add_argument("--between", choices=["hold", "flat"], default="hold",
                   help="trading rule between the two thresholds: keep the position (hold, the ml plugin's "
                        "behaviour; default) or close it (flat)")
    p.add_argument("--folds", type=int, default=5, help="walk-forward test windows; the last is held out")
    p.add_argument("--window-frac", type=float, default=0.1, help="share of the rows in each test window")
    p.add_argument("--embargo-bars", type=int, default=12,
                   help="bars after each test window left out of later training sets (default 12)")
    p.add_argument("--trees", type=int, default=None, help="number of trees (default: the library's defaults, 100)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a model parameter (JSON value), e.g. --param num_leaves=7")
    p.add_argument("--tune", type=int, default=0, metavar="N", help="N optuna trials per fold (needs optuna)")
    p.add_argument("--tickrail", default=None, help="tickrail command (default: cargo run -q -p tickrail-engine --)")
    p.set_defaults(**{k: v for k, v in preset.items() if k != "producer"})
    a = p.parse_args(argv)
    a.producer = preset.get("producer", "tickrail-train")
    if a.label_fee_bps is None:
        a.label_fee_bps = a.fee_bps
    a.name = a.name or f"model_{a.model}"
    if a.sides is None:
        a.sides = "both" if a.label_fee_bps == 0 and a.threshold_bps == 0 else "long"
    for k in ("candles", "config", "out"):
        setattr(a, k, os.path.abspath(getattr(a, k)))
    params = dict(learners.DEFAULTS[a.model])
    if a.trees is not None:
        params["n_estimators"] = a.trees
    for kv in a.param:
        k, sep, v = kv.partition("=")
        if not sep:
            p.error(f"--param {kv!r}: expected KEY=VALUE")
        try:
            params[k] = json.loads(v)
        except json.JSONDecodeError:
            params[k] = v
    a.params = params
    if not 0.5 < a.enter <= 1.0:
        p.error("--enter must be in (0.5, 1]")
    if a.horizon_bars < 1 or a.embargo_bars < 0 or a.tune < 0:
        p.error("--horizon-bars must be >= 1, --embargo-bars and --tune >= 0")
    return a


def source_info(candles, stats):
    if os.path.isdir(candles):
        files = sorted(f for f in os.listdir(candles) if f.endswith((".csv", ".csv.gz")))
        return {"data": f"candles in {os.path.basename(candles)}/",
                "sha256": {f: sha256(os.path.join(candles, f)) for f in files}, "export": stats}
    return {"data": f"candles ({os.path.basename(candles)})", "sha256": sha256(candles), "export": stats}


def walk_forward(a, ds, bar_ms, log):
    """Fits and scores every fold; (fold records, the held-out fold's model)."""
    splits = walkforward.windows(ds.t_ms.tolist(), a.folds, a.window_frac, a.horizon_bars, a.embargo_bars, bar_ms)
    if a.tune and not tune.available():
        log(f"--tune {a.tune}: optuna is not installed, skipping the search (fixed parameters); "
            "pip install optuna to tune")
    ret_1 = np.nan_to_num(ds.ret_1, nan=0.0)  # a bar whose next bar is missing earns nothing
    folds, model = [], None
    for k, (tr, te) in enumerate(splits):
        tr, te = np.asarray(tr, dtype=np.int64), np.asarray(te, dtype=np.int64)
        if len(tr) == 0 or len(np.unique(ds.y[tr])) < 2:
            raise TrainError(f"fold {k + 1}: {len(tr)} training rows, not both classes; more data or fewer folds")
        params, tuned = a.params, None
        if a.tune and tune.available():
            started = time.monotonic()
            params, best, ran = tune.search(a.model, a.params, ds.X[tr], ds.y[tr], ds.t_ms[tr], a.tune,
                                            a.horizon_bars, bar_ms)
            tuned = {"trials": ran, "validation_log_loss": best,
                     "params": {kk: v for kk, v in params.items() if a.params.get(kk) != v}}
            log(f"fold {k + 1}: {ran} optuna trials in {time.monotonic() - started:.1f} s, best validation log loss "
                f"{best}: {tuned['params']}")
        model = learners.fit(a.model, params, ds.X[tr], ds.y[tr])
        pr = model.predict_proba(ds.X[te])[:, 1]
        f = {
            "fold": k + 1,
            "held_out": k == len(splits) - 1,
            "train": {"from": iso(ds.t_ms[tr[0]]), "to": iso(ds.t_ms[tr[-1]]), "rows": int(len(tr))},
            "test": {"from": iso(ds.t_ms[te[0]]), "to": iso(ds.t_ms[te[-1]]), "rows": int(len(te))},
            **classification(ds.y[te], pr, ds.fwd[te], float(ds.y[tr].mean()), a.enter),
            "trading": trading.evaluate(pr.tolist(), ret_1[te].tolist(), a.enter, a.fee_bps, bar_ms, a.sides,
                                        a.between),
        }
        if tuned:
            f["tuning"] = tuned
        folds.append(f)
        t = f["trading"]
        log(f"fold {f['fold']}{' (held out)' if f['held_out'] else ''}: test {f['test']['from'][:10]}.."
            f"{f['test']['to'][:10]}  auc={f['auc']}  acc={f['accuracy']:.4f}  logloss={f['log_loss']:.5f} "
            f"(prior {f['log_loss_prior']:.5f})")
        for who in ("model", "always_long", "no_trade"):
            m = t[who]
            pf = "-" if m["profit_factor"] is None else f"{m['profit_factor']:.3f}"
            log(f"    {who:12s} trades={m['trades']:5d}  pf={pf:>6s}  sharpe={m['sharpe']:8.3f}  "
                f"maxdd={m['max_drawdown']:.4f}  return={m['total_return']:+.4f}")
    return folds, model


def summary(folds):
    """Means over the walk-forward folds (the held-out one apart), and how often the model beat the baselines."""
    walk = [f for f in folds if not f["held_out"]]

    def mean(get):
        xs = [get(f) for f in walk]
        xs = [x for x in xs if x is not None]
        return round(float(np.mean(xs)), 5) if xs else None

    out = {k: mean(lambda f, k=k: f[k]) for k in ("auc", "accuracy", "log_loss")}
    for who in ("model", "always_long"):
        for k in ("sharpe", "max_drawdown", "total_return"):
            out[f"{who}_{k}"] = mean(lambda f, who=who, k=k: f["trading"][who][k])
    out["folds"] = len(walk)
    out["folds_model_sharpe_above_always_long"] = sum(
        f["trading"]["model"]["sharpe"] > f["trading"]["always_long"]["sharpe"] for f in walk)
    out["folds_model_return_above_no_trade"] = sum(f["trading"]["model"]["total_return"] > 0 for f in walk)
    return out


def parity(a, onnx_path, names, X, native, tmp, library):
    rows_csv = os.path.join(tmp, "heldout.rows.csv")
    out_csv = os.path.join(tmp, "heldout.tickrail.csv")
    dataset.write_rows(rows_csv, names, X)
    onnxruntime.set_default_logger_severity(3)  # the converters' declared label shape [1] makes it warn per batch
    ref = fx.ort_outputs(onnx_path, X)
    msg = dataset.run_tickrail(a.tickrail, "model", "check", "--model", onnx_path, "--input", rows_csv,
                               "--output", out_csv)
    with open(out_csv) as f:
        cols = f.readline().strip().split(",")
        ours = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    if cols != ["p_0", "p_1"] or ours.shape != ref.shape:
        raise TrainError(f"tickrail model check wrote {cols} x {ours.shape}, expected p_0,p_1 x {ref.shape}")
    return {
        "rows": int(len(X)),
        "max_abs_tickrail_vs_onnxruntime": float(np.abs(ours - ref).max()),
        f"max_abs_{library}_vs_onnxruntime": float(np.abs(native - ref).max()),
        f"max_abs_tickrail_vs_{library}": float(np.abs(ours - native).max()),
        "tolerance": PARITY_TOL,
        "tickrail_model_check": msg.replace(tmp, "<tmp>"),
    }


def run(argv, log=print):
    """The whole tool; returns the sidecar written."""
    a = parse_args(argv)
    if not os.path.exists(a.candles):
        raise TrainError(f"{a.candles} not found (the shared candles, see ../shared/data/MANIFEST.md)")
    command = shlex.join(["python3", "tools/train/train.py"] + list(argv))
    table = dataset.feature_table(a.config)
    bar_ms = timeframe_ms(str(table.get("timeframe", "5m")))

    with tempfile.TemporaryDirectory(prefix="tickrail-train-") as tmp:
        ds = dataset.load(a.tickrail, a.candles, a.config, tmp, a.horizon_bars, a.label_fee_bps, a.threshold_bps)
        names = ds.names
        log(f"{len(ds.y)} rows, {len(names)} features ({', '.join(names)}); {ds.stats}")
        if ds.constant:
            log(f"not in candle files, constant in training: {ds.constant}")
        folds, final = walk_forward(a, ds, bar_ms, log)
        held = folds[-1]
        te = np.arange(len(ds.y) - held["test"]["rows"], len(ds.y))  # the held-out window: the last rows
        mean = summary(folds)
        log(f"walk-forward mean over {mean['folds']} folds: {mean}")

        onx = learners.to_onnx(a.model, final, len(names), a.name, a.producer)
        splits = learners.splits_per_feature(onx, len(names))
        for n in ds.constant:
            if splits[names.index(n)]:
                raise TrainError(f"the model splits on {n}, which the candle files cannot give")
        stage = os.path.join(tmp, "model")
        os.makedirs(stage)
        onnx_path = os.path.join(stage, a.name + ".onnx")
        json_path = os.path.join(stage, a.name + ".json")
        onnx.save_model(onx, onnx_path)
        meta = {
            "features": names,
            "label": {
                "definition": label_definition(a),
                "horizon_bars": a.horizon_bars,
                "fee_bps": a.label_fee_bps,
                "threshold_bps": a.threshold_bps,
                "export": "tickrail features (engine/src/export.rs): fwd_return = ln(close[t+h]/close[t]) - 2*fee_bps/1e4",
            },
            "kind": "classifier",
            "library": a.model,
            "params": a.params,
            "trees": learners.trees(onx),
            "onnx_bytes": os.path.getsize(onnx_path),
            "onnx_sha256": sha256(onnx_path),
            "training_span": {
                "train_from": held["train"]["from"],
                "train_to": held["train"]["to"],
                "train_rows": held["train"]["rows"],
                "held_out_from": held["test"]["from"],
                "held_out_to": held["test"]["to"],
                "held_out_rows": held["test"]["rows"],
            },
            "validation": {
                "scheme": "expanding walk-forward, purged and embargoed (tools/train/walkforward.py)",
                "folds": a.folds,
                "window_frac": a.window_frac,
                "purge_bars": a.horizon_bars,
                "embargo_bars": a.embargo_bars,
                "tune_trials": a.tune if tune.available() else 0,
            },
            "trading_rule": {
                "rule": f"long when p_1 >= {a.enter}, {'short' if a.sides == 'both' else 'flat'} when p_1 <= "
                        f"{round(1 - a.enter, 10)}, {'keep the position' if a.between == 'hold' else 'flat'} in "
                        "between; decided at each bar's close, whole equity per position (tools/train/trading.py)",
                "enter": a.enter,
                "sides": a.sides,
                "between": a.between,
                "fee_bps_per_side": a.fee_bps,
                "bar_ms": bar_ms,
                "conventions": "as engine/src/backtest/metrics.rs: profit factor = gross wins / gross losses of "
                               "trade PnL before fees (profit_factor_net: after fees), Sharpe = mean / population "
                               "sd of per-bar equity returns net of fees x sqrt(bars per 365-day year), max "
                               "drawdown = largest fall from the equity peak as a fraction of it "
                               "(tools/train/trading.py)",
                "baselines": "always_long: long every bar of the window (one trade); no_trade: flat",
            },
            "constant_features": {
                n: {"value": v, "why": "not in exchange candle files (needs trade sides); constant in training, "
                                       "no tree splits on it"} for n, v in ds.constant.items()
            },
            "splits_per_feature": dict(zip(names, splits)),
            "folds": folds,
            "walk_forward_mean": mean,
            "held_out": {k: v for k, v in held.items() if k not in ("fold", "held_out")},
            "source": source_info(a.candles, ds.stats),
            "versions": {"python": platform.python_version(), **learners.versions()},
            "command": command,
        }
        native = final.predict_proba(ds.X[te])
        check = parity(a, onnx_path, names, ds.X[te], native, tmp, a.model)
        log(f"parity on {check['rows']} held-out rows: max|tickrail-ort|={check['max_abs_tickrail_vs_onnxruntime']:.3e}"
            f"  max|{a.model}-ort|={check[f'max_abs_{a.model}_vs_onnxruntime']:.3e}  ({check['tickrail_model_check']})")
        if not check["max_abs_tickrail_vs_onnxruntime"] <= PARITY_TOL:
            raise TrainError(f"parity check failed (tolerance {PARITY_TOL}); nothing written")
        meta["parity"] = check
        with open(json_path, "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        os.makedirs(a.out, exist_ok=True)
        for src in (onnx_path, json_path):
            shutil.copyfile(src, os.path.join(a.out, os.path.basename(src)))
        log(f"wrote {os.path.join(a.out, a.name)}.onnx ({meta['onnx_bytes']} B, sha256 {meta['onnx_sha256'][:16]}) "
            "and .json")
        return meta


def main():
    try:
        run(sys.argv[1:])
    except (TrainError, dataset.DataError, walkforward.SplitError) as e:
        sys.exit(f"train: {e}")


if __name__ == "__main__":
    main()
