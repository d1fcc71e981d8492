#!/usr/bin/env python3
"""Train small tree-ensemble models on real BTCUSDT candles and export them as ONNX fixtures.

tickrail's model loader (`engine/src/model/`) is tested for parity against these files: for each
fixture NAME this writes

  NAME.onnx          the model as the exporter wrote it (ZipMap included where the exporter adds one)
  NAME.json          metadata sidecar: feature names in order, label definition, training span
  NAME.rows.csv      held-out input rows, header = feature names, empty cell = missing (NaN)
  NAME.ort.csv       onnxruntime's outputs for those rows  (p_0,p_1,... or value)
  NAME.native.csv    the training library's own predict for those rows (same columns)

plus two deliberately bad models the loader must refuse (`bad_no_tree_op.onnx`, `bad_probit.onnx`).

Run from the repository root:

    python3 tools/train/make_fixtures.py --out tests/fixtures/models

If the pinned packages (requirements.txt) are not importable, the script creates a virtualenv at
$TICKRAIL_TRAIN_VENV (default /tmp/tickrail-train), installs them there and re-runs itself with it.
Everything is deterministic: fixed seeds, one thread per library.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CANDLES = "binance_spot_BTCUSDT_5m_2024-01-01_2024-09-06.csv.gz"


def ensure_env():
    try:
        import lightgbm  # noqa: F401
        import onnxmltools  # noqa: F401
        import onnxruntime  # noqa: F401
        import skl2onnx  # noqa: F401
        import xgboost  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("TICKRAIL_TRAIN_REEXEC"):
        sys.exit("make_fixtures: pinned packages still missing inside the virtualenv; see requirements.txt")
    venv = os.environ.get("TICKRAIL_TRAIN_VENV", "/tmp/tickrail-train")
    py = os.path.join(venv, "bin", "python3")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    subprocess.check_call([py, "-m", "pip", "install", "-q", "-r", os.path.join(HERE, "requirements.txt")])
    env = dict(os.environ, TICKRAIL_TRAIN_REEXEC="1")
    os.execve(py, [py, os.path.abspath(sys.argv[0])] + sys.argv[1:], env)


ensure_env()

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

SEED = 20240101


# ---------------------------------------------------------------- data


def load_candles(path):
    with gzip.open(path, "rt") as f:
        header = f.readline().strip().split(",")
        assert header == ["open_time_ms", "open", "high", "low", "close", "volume"], header
        data = np.loadtxt(f, delimiter=",", dtype=np.float64)
    return data


def features(c):
    """37 simple features per bar, rounded to tick sizes so that many values tie with split thresholds."""
    t_ms, o, h, lo, cl, v = (c[:, i] for i in range(6))
    n = len(cl)
    logc = np.log(cl)
    r1 = np.zeros(n)
    r1[1:] = (logc[1:] - logc[:-1]) * 1e4
    cols, names = [], []

    def add(name, x, tick):
        names.append(name)
        cols.append(np.round(x / tick) * tick)

    def lag_ret(k):
        x = np.full(n, np.nan)
        x[k:] = (logc[k:] - logc[:-k]) * 1e4
        return x

    def roll_std(x, w):
        out = np.full(n, np.nan)
        cs = np.concatenate([[0.0], np.cumsum(x)])
        cs2 = np.concatenate([[0.0], np.cumsum(x * x)])
        s = cs[w:] - cs[:-w]
        s2 = cs2[w:] - cs2[:-w]
        out[w - 1 :] = np.sqrt(np.maximum(s2 / w - (s / w) ** 2, 0.0))
        return out

    def roll_mean(x, w):
        out = np.full(n, np.nan)
        cs = np.concatenate([[0.0], np.cumsum(x)])
        out[w - 1 :] = (cs[w:] - cs[:-w]) / w
        return out

    # The first 12 are the fixture feature set; all 37 feed the benchmark model.
    add("ret_1_bps", lag_ret(1), 0.5)
    add("ret_3_bps", lag_ret(3), 0.5)
    add("ret_12_bps", lag_ret(12), 0.5)
    add("vol_12_bps", roll_std(r1, 12), 0.1)
    add("vol_48_bps", roll_std(r1, 48), 0.1)
    add("range_bps", (h - lo) / cl * 1e4, 0.5)
    add("close_pos", np.where(h > lo, (cl - lo) / np.where(h > lo, h - lo, 1.0), 0.5), 0.05)
    add("vol_ratio_12", v / roll_mean(v, 12), 0.01)
    add("vol_ratio_48", v / roll_mean(v, 48), 0.01)
    add("hour_utc", (t_ms // 3_600_000) % 24, 1.0)
    add("ret_48_bps", lag_ret(48), 1.0)
    add("body_bps", (cl - o) / o * 1e4, 0.5)
    for k in (2, 4, 5, 6, 8, 10, 15, 20, 24, 30, 36, 60, 96, 144):
        add(f"ret_{k}_bps", lag_ret(k), 0.5)
    for w in (6, 24, 96, 288):
        add(f"vol_{w}_bps", roll_std(r1, w), 0.1)
    for w in (6, 24, 96, 288):
        add(f"vol_ratio_{w}", v / roll_mean(v, w), 0.01)
    for k in (1, 2):
        x = np.full(n, np.nan)
        x[k:] = ((h - lo) / cl * 1e4)[:-k]
        add(f"range_lag{k}_bps", x, 0.5)
    add("day_of_week", ((t_ms // 86_400_000) + 3) % 7, 1.0)
    assert len(names) == 37, len(names)
    X = np.stack(cols, axis=1).astype(np.float32)
    fwd = np.full(n, np.nan)
    fwd[:-3] = (logc[3:] - logc[:-3]) * 1e4
    return X, names, fwd, t_ms


def dataset(candles_path):
    c = load_candles(candles_path)
    X, names, fwd, t_ms = features(c)
    ok = np.isfinite(X).all(axis=1) & np.isfinite(fwd)
    X, fwd, t_ms = X[ok], fwd[ok], t_ms[ok]
    train = slice(0, 12_000)
    test = slice(40_000, 40_240)
    rng = np.random.default_rng(SEED)
    Xtr = X[train].copy()
    Xte = X[test].copy()
    # Missing values: some in training (so boosters learn a default direction), more in held-out rows.
    Xtr[rng.random(Xtr.shape) < 0.03] = np.nan
    Xte[rng.random(Xte.shape) < 0.06] = np.nan
    # One row entirely missing, one row of exact split-friendly values.
    Xte[0, :] = np.nan
    fwd = fwd[train]
    labels = {
        "binary": ((fwd > 0).astype(np.int64), "1 if the log return over the next 3 bars is > 0"),
        "multiclass": (
            np.digitize(fwd, [-5.0, 5.0]).astype(np.int64),
            "0: next-3-bar return < -5 bps, 1: within +-5 bps, 2: > 5 bps",
        ),
        "regression": ((fwd / 100.0).astype(np.float32), "log return over the next 3 bars, in percent"),
    }
    span = {
        "train_from_ms": int(t_ms[train][0]),
        "train_to_ms": int(t_ms[train][-1]),
        "test_from_ms": int(t_ms[test][0]),
        "test_to_ms": int(t_ms[test][-1]),
    }
    return Xtr, Xte, names, labels, (train, test), span


# ---------------------------------------------------------------- outputs


def fmt(x):
    return "" if np.isnan(x) else repr(float(x))


def write_csv(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(fmt(v) for v in r) + "\n")


def ort_outputs(path, X):
    """onnxruntime's probabilities (classifier: read through ZipMap in label order) or values."""
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    outs = sess.run(None, {name: X.astype(np.float32)})
    metas = sess.get_outputs()
    if len(metas) == 1:  # regressor
        return np.asarray(outs[0], dtype=np.float64).reshape(len(X), -1)
    probs = outs[1]
    if isinstance(probs, list):  # ZipMap: one dict per row
        keys = sorted(probs[0].keys())
        return np.array([[d[k] for k in keys] for d in probs], dtype=np.float64)
    return np.asarray(probs, dtype=np.float64)


def save_fixture(out, name, onx, X, native, feat_names, label_def, span, kind, library):
    path = os.path.join(out, name + ".onnx")
    onnx.save_model(onx, path)
    ref = ort_outputs(path, X)
    cols = [f"p_{i}" for i in range(ref.shape[1])] if kind == "classifier" else ["value"]
    if kind != "classifier":
        native = native.reshape(len(X), -1)
    write_csv(os.path.join(out, name + ".rows.csv"), feat_names, X)
    write_csv(os.path.join(out, name + ".ort.csv"), cols, ref)
    write_csv(os.path.join(out, name + ".native.csv"), cols, native)
    meta = {
        "features": feat_names,
        "label": label_def,
        "kind": kind,
        "library": library,
        "training_span": span,
        "source": f"Binance spot BTCUSDT 5m candles ({CANDLES})",
    }
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    diff = np.abs(ref - native).max()
    print(f"{name:28s} {os.path.getsize(path):8d} B  rows={len(X)}  max|ort-native|={diff:.2e}")
    return path


# ---------------------------------------------------------------- models


def initial_types(n):
    from onnxmltools.convert.common.data_types import FloatTensorType

    return [("input", FloatTensorType([None, n]))]


def xgb_models(out, Xtr, Xte, names, labels, span):
    import xgboost as xgb
    from onnxmltools import convert_xgboost

    n = 12
    a, b = Xtr[:, :n], Xte[:, :n]
    fn = names[:n]
    common = dict(max_depth=4, learning_rate=0.3, random_state=SEED, n_jobs=1, tree_method="hist")

    m = xgb.XGBClassifier(n_estimators=20, **common).fit(a, labels["binary"][0])
    onx = convert_xgboost(m, initial_types=initial_types(n))
    save_fixture(out, "xgb_binary", onx, b, m.predict_proba(b), fn, labels["binary"][1], span, "classifier", "xgboost")

    m = xgb.XGBClassifier(n_estimators=10, **common).fit(a, labels["multiclass"][0])
    onx = convert_xgboost(m, initial_types=initial_types(n))
    save_fixture(
        out, "xgb_multiclass", onx, b, m.predict_proba(b), fn, labels["multiclass"][1], span, "classifier", "xgboost"
    )

    m = xgb.XGBRegressor(n_estimators=20, **common).fit(a, labels["regression"][0])
    onx = convert_xgboost(m, initial_types=initial_types(n))
    save_fixture(out, "xgb_regressor", onx, b, m.predict(b), fn, labels["regression"][1], span, "regressor", "xgboost")

    # The benchmark model: 100 trees, depth 6, all 37 features.
    m = xgb.XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.1, random_state=SEED, n_jobs=1,
                          tree_method="hist").fit(Xtr, labels["binary"][0])
    onx = convert_xgboost(m, initial_types=initial_types(37))
    save_fixture(
        out, "xgb_bench_100x6x37", onx, Xte, m.predict_proba(Xte), names, labels["binary"][1], span, "classifier",
        "xgboost",
    )


def lgbm_models(out, Xtr, Xte, names, labels, span):
    import lightgbm as lgb
    from onnxmltools import convert_lightgbm

    n = 12
    a, b = Xtr[:, :n], Xte[:, :n]
    fn = names[:n]
    common = dict(n_estimators=20, num_leaves=15, learning_rate=0.2, random_state=SEED, n_jobs=1, verbose=-1,
                  deterministic=True)

    m = lgb.LGBMClassifier(**common).fit(a, labels["binary"][0])
    onx = convert_lightgbm(m, initial_types=initial_types(n), zipmap=True)
    save_fixture(out, "lgbm_binary", onx, b, m.predict_proba(b), fn, labels["binary"][1], span, "classifier", "lightgbm")

    m = lgb.LGBMRegressor(**common).fit(a, labels["regression"][0])
    onx = convert_lightgbm(m, initial_types=initial_types(n))
    save_fixture(out, "lgbm_regressor", onx, b, m.predict(b), fn, labels["regression"][1], span, "regressor", "lightgbm")


def skl_models(out, Xtr, Xte, names, labels, span):
    from skl2onnx import to_onnx
    from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestClassifier

    n = 12
    # scikit-learn's exported trees carry no missing-value routing, so its fixtures see complete rows only.
    keep = np.isfinite(Xtr[:, :n]).all(axis=1)
    a, ya, yr = Xtr[keep, :n], labels["multiclass"][0][keep], labels["regression"][0][keep]
    b = np.nan_to_num(Xte[:, :n], nan=0.0)
    fn = names[:n]
    m = RandomForestClassifier(n_estimators=10, max_depth=6, random_state=SEED, n_jobs=1).fit(a, ya)
    onx = to_onnx(m, a[:1], target_opset={"": 17, "ai.onnx.ml": 3})
    save_fixture(out, "skl_rf_multiclass", onx, b, m.predict_proba(b), fn, labels["multiclass"][1], span,
                 "classifier", "scikit-learn")

    m = GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=SEED).fit(a, yr)
    onx = to_onnx(m, a[:1], target_opset={"": 17, "ai.onnx.ml": 3})
    save_fixture(out, "skl_gb_regressor", onx, b, m.predict(b), fn, labels["regression"][1], span, "regressor",
                 "scikit-learn")

    m = ExtraTreesRegressor(n_estimators=8, max_depth=5, random_state=SEED, n_jobs=1).fit(a, yr)
    onx = to_onnx(m, a[:1], target_opset={"": 17, "ai.onnx.ml": 3})
    save_fixture(out, "skl_et_regressor", onx, b, m.predict(b), fn, labels["regression"][1], span, "regressor",
                 "scikit-learn")


# ---------------------------------------------------------------- synthetic: every branch mode


MODES = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"]


def random_trees(rng, X, n_trees, max_depth, n_out):
    """Random trees whose thresholds are values taken from X (so ties occur), every mode, random NaN routing."""
    t = {k: [] for k in ("treeids", "nodeids", "featureids", "values", "modes", "true", "false", "missing")}
    leaves = []  # (tree, node, out, weight)
    for tree in range(n_trees):
        next_id = [0]

        def build(depth):
            nid = next_id[0]
            next_id[0] += 1
            t["treeids"].append(tree)
            t["nodeids"].append(nid)
            idx = len(t["nodeids"]) - 1
            if depth >= max_depth or (depth > 0 and rng.random() < 0.25):
                for k in ("featureids", "values", "true", "false", "missing"):
                    t[k].append(0)
                t["modes"].append("LEAF")
                for o in range(n_out):
                    leaves.append((tree, nid, o, float(np.float32(rng.normal()))))
                return nid
            f = int(rng.integers(X.shape[1]))
            col = X[:, f][np.isfinite(X[:, f])]
            thr = float(col[rng.integers(len(col))])
            t["featureids"].append(f)
            t["values"].append(thr)
            t["modes"].append(MODES[int(rng.integers(len(MODES)))])
            t["missing"].append(int(rng.random() < 0.5))
            t["true"].append(0)
            t["false"].append(0)
            t["true"][idx] = build(depth + 1)
            t["false"][idx] = build(depth + 1)
            return nid

        build(0)
    return t, leaves


def synthetic(out, Xte, names):
    """Hand-built ensembles using all six branch modes; the reference is onnxruntime alone."""
    rng = np.random.default_rng(SEED + 7)
    n = 12
    X = Xte[:, :n]
    fn = names[:n]
    for kind in ("classifier", "regressor"):
        n_out = 3 if kind == "classifier" else 1
        t, leaves = random_trees(rng, X, n_trees=12, max_depth=5, n_out=n_out)
        attrs = dict(
            nodes_treeids=t["treeids"], nodes_nodeids=t["nodeids"], nodes_featureids=t["featureids"],
            nodes_values=t["values"], nodes_modes=t["modes"], nodes_truenodeids=t["true"],
            nodes_falsenodeids=t["false"], nodes_missing_value_tracks_true=t["missing"],
        )
        if kind == "classifier":
            attrs.update(
                class_treeids=[lf[0] for lf in leaves], class_nodeids=[lf[1] for lf in leaves],
                class_ids=[lf[2] for lf in leaves], class_weights=[lf[3] for lf in leaves],
                classlabels_int64s=[0, 1, 2], post_transform="SOFTMAX", base_values=[0.1, -0.2, 0.05],
            )
            node = helper.make_node("TreeEnsembleClassifier", ["input"], ["label", "probabilities"],
                                    domain="ai.onnx.ml", **attrs)
            outputs = [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
                       helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3])]
        else:
            attrs.update(
                target_treeids=[lf[0] for lf in leaves], target_nodeids=[lf[1] for lf in leaves],
                target_ids=[lf[2] for lf in leaves], target_weights=[lf[3] for lf in leaves],
                n_targets=1, aggregate_function="AVERAGE", base_values=[0.25], post_transform="NONE",
            )
            node = helper.make_node("TreeEnsembleRegressor", ["input"], ["variable"], domain="ai.onnx.ml", **attrs)
            outputs = [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])]
        graph = helper.make_graph([node], f"synthetic_modes_{kind}",
                                  [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, n])], outputs)
        onx = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
                                producer_name="tickrail-make-fixtures")
        onx.ir_version = 8
        onnx.checker.check_model(onx)
        path = os.path.join(out, f"synthetic_modes_{kind}.onnx")
        onnx.save_model(onx, path)
        ref = ort_outputs(path, X)
        save_fixture(out, f"synthetic_modes_{kind}", onx, X, ref, fn, "none: random trees, every branch mode",
                     {}, kind, "onnx.helper")


def bad_models(out):
    """Models the loader must refuse with a clear error."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 4])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, 4])
    g = helper.make_graph([helper.make_node("Relu", ["input"], ["output"])], "no_tree", [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save_model(m, os.path.join(out, "bad_no_tree_op.onnx"))

    src = onnx.load(os.path.join(out, "xgb_binary.onnx"))
    for node in src.graph.node:
        if node.op_type == "TreeEnsembleClassifier":
            for a in node.attribute:
                if a.name == "post_transform":
                    a.s = b"PROBIT"
    onnx.save_model(src, os.path.join(out, "bad_probit.onnx"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder, e.g. tests/fixtures/models")
    p.add_argument("--data", default=None, help="candles folder (default: ../shared/data/candles)")
    args = p.parse_args()
    repo = os.path.dirname(os.path.dirname(HERE))
    data = args.data or os.path.join(os.path.dirname(repo), "shared", "data", "candles")
    os.makedirs(args.out, exist_ok=True)
    Xtr, Xte, names, labels, _, span = dataset(os.path.join(data, CANDLES))
    xgb_models(args.out, Xtr, Xte, names, labels, span)
    lgbm_models(args.out, Xtr, Xte, names, labels, span)
    skl_models(args.out, Xtr, Xte, names, labels, span)
    synthetic(args.out, Xte, names)
    bad_models(args.out)


if __name__ == "__main__":
    main()
