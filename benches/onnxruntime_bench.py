#!/usr/bin/env python3
"""Peer timings for the model bench: onnxruntime (and treelite/tl2cgen compiled C) on the same model.

Times single-row latency (one `run` / `predict` call per row, as the engine calls per tick) and batch
throughput over the fixture's held-out rows, for:

  - onnxruntime 1.32 on tests/fixtures/models/xgb_bench_100x6x37.onnx (1 intra-op thread), and
  - tl2cgen 1.0 compiled C of the same XGBoost model (treelite reads XGBoost, not ONNX, so the model is
    retrained with make_fixtures.py's deterministic recipe; its predictions are checked against the
    committed onnxruntime reference before timing).

Run from the repository root (uses the same virtualenv logic as tools/train/make_fixtures.py, plus
treelite==4.8.1 and tl2cgen==1.0.0):

    python3 benches/onnxruntime_bench.py
"""

import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
import make_fixtures as mf  # noqa: E402  (re-executes inside the training virtualenv if needed)

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

NAME = "xgb_bench_100x6x37"
FIX = os.path.join(ROOT, "tests", "fixtures", "models")


def read_rows(path):
    with open(path) as f:
        f.readline()
        return np.array(
            [[float(c) if c else np.nan for c in line.strip().split(",")] for line in f], dtype=np.float32
        )


def single(fn, rows, reps):
    """Median and p99 of per-call latency (ns), timing each call."""
    samples = []
    n = len(rows)
    for k in range(reps):
        r = rows[k % n : k % n + 1]
        t0 = time.perf_counter_ns()
        fn(r)
        samples.append(time.perf_counter_ns() - t0)
    samples = samples[reps // 10 :]
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


def batch(fn, rows, reps):
    best = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        fn(rows)
        best.append((time.perf_counter_ns() - t0) / len(rows))
    return statistics.median(best)


def main():
    rows = read_rows(os.path.join(FIX, f"{NAME}.rows.csv"))
    ref = read_rows(os.path.join(FIX, f"{NAME}.ort.csv")).astype(np.float64)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(FIX, f"{NAME}.onnx"), so, providers=["CPUExecutionProvider"])
    iname = sess.get_inputs()[0].name
    # Ask for the label only would skip nothing: the ensemble runs once per call either way.
    out_names = [o.name for o in sess.get_outputs()]
    run = lambda r: sess.run(out_names, {iname: r})  # noqa: E731
    p50, p99 = single(run, rows, 20_000)
    thr = batch(run, rows, 200)
    print(f"onnxruntime {ort.__version__} single row: p50 {p50 / 1000:.2f} us, p99 {p99 / 1000:.2f} us; "
          f"batch of {len(rows)}: {thr:.0f} ns/row")

    try:
        import tl2cgen
        import treelite
    except ImportError as e:
        print(f"tl2cgen: not installed ({e}); pip install treelite==4.8.1 tl2cgen==1.0.0")
        return
    import xgboost as xgb

    Xtr, _, _, labels, _, _ = mf.dataset(os.path.join(os.path.dirname(ROOT), "shared", "data", "candles", mf.CANDLES))
    m = xgb.XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.1, random_state=mf.SEED, n_jobs=1,
                          tree_method="hist").fit(Xtr, labels["binary"][0])
    native = m.predict_proba(rows)[:, 1]
    assert np.abs(native - ref[:, 1]).max() < 1e-6, "retrained model differs from the committed fixture"
    tl_model = treelite.frontend.from_xgboost(m.get_booster())
    libdir = "/tmp/tickrail_tl2cgen"
    os.makedirs(libdir, exist_ok=True)
    lib = os.path.join(libdir, "model.so")
    tl2cgen.export_lib(tl_model, toolchain="gcc", libpath=lib, params={"parallel_comp": 8}, nthread=1)
    predictor = tl2cgen.Predictor(lib, nthread=1)
    got = predictor.predict(tl2cgen.DMatrix(rows)).reshape(len(rows), -1)[:, -1]
    assert np.abs(got - ref[:, 1]).max() < 1e-5, "tl2cgen output differs"
    tl_run = lambda r: predictor.predict(tl2cgen.DMatrix(r))  # noqa: E731
    p50, p99 = single(tl_run, rows, 20_000)
    thr = batch(tl_run, rows, 200)
    print(f"tl2cgen {tl2cgen.__version__} (gcc, -O3 default) single row: p50 {p50 / 1000:.2f} us, "
          f"p99 {p99 / 1000:.2f} us; batch of {len(rows)}: {thr:.0f} ns/row")


if __name__ == "__main__":
    main()
