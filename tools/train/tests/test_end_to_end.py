"""train → ONNX → `tickrail model check` parity, for each library, on a small slice of the real
candles (few trees, so it is quick); the sidecar's feature list is the engine's configured list;
the demo preset remakes the shipped model byte for byte.

Needs the tickrail binary (`$TICKRAIL_BIN`, default target/debug/tickrail; tools/train/test.sh
builds it) and ../shared/data beside the checkout.
"""

import contextlib
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import train  # noqa: E402

TICKRAIL = os.environ.get("TICKRAIL_BIN") or os.path.join(REPO, "target", "debug", "tickrail")
CANDLES = os.path.join(os.path.dirname(REPO), "shared", "data", "candles",
                       "binance_spot_BTCUSDT_5m_2024-01-01_2024-09-06.csv.gz")
CONFIG = os.path.join(REPO, "config", "engine.toml")
SLICE = 6000  # candles: about three weeks


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class EndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for what, path in (("the tickrail binary", TICKRAIL), ("the shared candles", CANDLES)):
            if not os.path.exists(path):
                raise AssertionError(f"{what} is missing: {path}")
        cls.tmp = tempfile.TemporaryDirectory(prefix="tickrail-train-test-")
        cls.candles = os.path.join(cls.tmp.name, "slice.csv")
        with gzip.open(CANDLES, "rt") as src, open(cls.candles, "w") as dst:
            for i, line in enumerate(src):
                if i > SLICE:
                    break
                dst.write(line)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def train(self, *extra):
        out = os.path.join(self.tmp.name, "out")
        log = io.StringIO()
        with contextlib.redirect_stdout(log):
            meta = train.run(["--candles", self.candles, "--config", CONFIG, "--out", out, "--tickrail", TICKRAIL,
                              "--folds", "3", "--window-frac", "0.15", "--trees", "5", *extra])
        return meta, out, log.getvalue()

    def engine_features(self):
        """The feature names `tickrail features` gives for the config (the header; rows or not)."""
        with open(CONFIG, "rb") as f:
            import tomllib
            table = tomllib.load(f)["features"]
        toml_path = os.path.join(self.tmp.name, "features.toml")
        csv_path = os.path.join(self.tmp.name, "features.csv")
        from toml_write import toml_dump
        with open(toml_path, "w") as f:
            f.write(toml_dump({"features": table}))
        subprocess.run([TICKRAIL, "features", "--candles", self.candles, "--config", toml_path, "--output", csv_path],
                       check=True, capture_output=True)
        with open(csv_path) as f:
            return f.readline().strip().split(",")[1:-2]

    def round_trip(self, library):
        meta, out, log = self.train("--model", library, "--name", f"e2e_{library}")
        onnx_path = os.path.join(out, f"e2e_{library}.onnx")
        with open(os.path.join(out, f"e2e_{library}.json")) as f:
            self.assertEqual(json.load(f), json.loads(json.dumps(meta)))
        self.assertEqual(meta["onnx_sha256"], sha256(onnx_path))
        self.assertEqual((meta["library"], meta["trees"]), (library, 5))
        self.assertLessEqual(meta["parity"]["max_abs_tickrail_vs_onnxruntime"], train.PARITY_TOL)
        self.assertEqual(meta["parity"]["rows"], meta["training_span"]["held_out_rows"])
        self.assertEqual(meta["features"], self.engine_features())
        for name in meta["constant_features"]:
            self.assertEqual(meta["splits_per_feature"][name], 0)
        self.assertEqual(len(meta["folds"]), 3)
        for f in meta["folds"]:
            for who in ("model", "always_long", "no_trade"):
                fig = f["trading"][who]
                for k in ("profit_factor", "sharpe", "max_drawdown", "trades", "total_return"):
                    self.assertIn(k, fig)
                self.assertEqual(fig["bars"], f["test"]["rows"])
            self.assertEqual(f["trading"]["no_trade"]["trades"], 0)
            self.assertEqual(f["trading"]["always_long"]["trades"], 1)
        # Trained on rows before the held-out window, never in it.
        self.assertLess(meta["training_span"]["train_to"], meta["training_span"]["held_out_from"])
        self.assertIn("parity on", log)

    def test_lightgbm(self):
        self.round_trip("lightgbm")

    def test_xgboost(self):
        self.round_trip("xgboost")

    def test_sklearn(self):
        self.round_trip("sklearn")

    def test_embargo_and_label_are_recorded(self):
        meta, _, _ = self.train("--embargo-bars", "24", "--fee-bps", "7.5", "--horizon-bars", "6", "--name", "e2e_opts")
        v, lab, rule = meta["validation"], meta["label"], meta["trading_rule"]
        self.assertEqual((v["purge_bars"], v["embargo_bars"]), (6, 24))
        self.assertEqual((lab["horizon_bars"], lab["fee_bps"]), (6, 7.5))
        self.assertEqual((rule["fee_bps_per_side"], rule["sides"]), (7.5, "long"))
        # Fold 3 trains on the rows before it less its purge and the 24 bars after fold 1's window
        # (the bars after fold 2's window are fold 3's own test window).
        f1, f3 = meta["folds"][0], meta["folds"][2]
        rows_before_3 = f1["train"]["rows"] + 6 + f1["test"]["rows"] + meta["folds"][1]["test"]["rows"]
        self.assertEqual(f3["train"]["rows"], rows_before_3 - 6 - 24)

    def test_tune_without_optuna_is_skipped_with_a_message(self):
        try:
            import optuna  # noqa: F401
            self.skipTest("optuna is installed here")
        except ImportError:
            pass
        meta, _, log = self.train("--tune", "3", "--name", "e2e_tune")
        self.assertIn("optuna is not installed", log)
        self.assertEqual(meta["validation"]["tune_trials"], 0)

    def test_demo_preset_remakes_the_shipped_model(self):
        shipped = os.path.join(REPO, "config", "models", "btcusdt_5m_lgbm.onnx")
        out = os.path.join(self.tmp.name, "demo")
        with contextlib.redirect_stdout(io.StringIO()):
            meta = train.run(["--preset", "demo", "--out", out, "--tickrail", TICKRAIL])
        self.assertEqual(meta["onnx_sha256"], sha256(shipped), "the shipped model is not what --preset demo makes")
        with open(shipped.replace(".onnx", ".json")) as f:
            self.assertEqual(meta["features"], json.load(f)["features"])


if __name__ == "__main__":
    unittest.main()
