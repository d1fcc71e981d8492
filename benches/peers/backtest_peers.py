#!/usr/bin/env python3
"""Backtest throughput of tickrail, hftbacktest and NautilusTrader on the same synthetic trades.

Each tool replays the trades written by ``make_synthetic.py`` through a strategy that does what
tickrail's dummy plugin does: look at every trade, draw a SplitMix64 number (seed, rate and
quantity from ``config/plugins/dummy.json``), and with probability ``rate`` send a market order of
``qty`` BTC, buy or sell at random. All three use the same generator, so they send the same
orders on the same trades.

What each timed region holds (input loading is outside all of them):

- **tickrail**: ``tickrail backtest`` (release build) with the dummy plugin ``.so``; the figure
  is the one it prints, ``N ticks in X s``: its tick loop over messages already in memory as
  text, i.e. JSON parsing of every Binance message, features, model, the plugin through the C
  ABI, the risk gate, paper execution, metrics and the journal's order/fill records. Reading and
  un-gzipping the capture is excluded.
- **hftbacktest**: one call of the ``numba.njit`` strategy loop (``wait_next_feed`` →
  ``last_trades`` → maybe ``submit_*_order(MARKET)``) over a ``HashMapMarketDepthBacktest``
  built on the in-memory event array; numba compilation is done by a warm-up run on 1,000 rows
  first, and building the backtester is excluded.
- **NautilusTrader**: ``BacktestEngine.run()`` over ``TradeTick`` objects already built and
  added; the strategy is a Python ``Strategy`` subclass (``on_trade_tick``), orders go through
  the risk engine, execution engine and the simulated exchange (L1 book moved by trades), and
  fills update the cash account and positions. Building ticks and ``add_data`` (sorting) are
  excluded; post-run analysis is turned off.

Every run is a fresh process. Each tool is run ``--runs`` times (default 3), the tools taking
turns, and the median ticks/s is reported, with the load average beside each run. Results go to
``<out>/peers.json`` and ``<out>/peers.md``.

Usage: ``backtest_peers.py [--runs 3] [--only tickrail hftbacktest nautilus] [--no-build]``
(run from the workspace root, inside the venv that ``requirements.txt`` describes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from toml_write import toml_dump  # noqa: E402
PEERS = ("hftbacktest", "nautilus", "tickrail", "tickrail-archive")
LABELS = {
    "hftbacktest": "hftbacktest",
    "nautilus": "NautilusTrader",
    "tickrail": "tickrail (JSON capture)",
    "tickrail-archive": "tickrail (tick archive)",
}
CAPTURE_NAME = "btcusdt_synthetic.capture.gz"
HFT_NAME = "btcusdt_synthetic.hftbacktest.npz"
PARQUET_NAME = "btcusdt_synthetic.trades.parquet"

# ---------------------------------------------------------------------------------------------
# The dummy strategy's generator (plugins/dummy/src/lib.rs), for the Python peers.

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
TWO53 = float(1 << 53)


def dummy_params(path: Path) -> tuple[int, float, float]:
    """(seed, rate, qty) from the dummy plugin's JSON configuration."""
    cfg = json.loads(path.read_text())
    return int(cfg.get("seed", 0)), float(cfg["rate"]), float(cfg["qty"])


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------------------------------------
# Workers: one timed backtest in this process, result as one JSON line on stdout.


def worker_hftbacktest(data_dir: Path, seed: int, rate: float, qty: float) -> dict:
    import numpy as np
    from numba import njit, uint64
    from hftbacktest import GTC, MARKET, BacktestAsset, HashMapMarketDepthBacktest

    @njit
    def splitmix(s):
        s = s + uint64(GOLDEN)
        z = s
        z = (z ^ (z >> uint64(30))) * uint64(MIX1)
        z = (z ^ (z >> uint64(27))) * uint64(MIX2)
        return s, z ^ (z >> uint64(31))

    @njit
    def dummy(hbt, seed, rate, qty):
        s = uint64(seed)
        ticks = 0
        orders = 0
        while True:
            rc = hbt.wait_next_feed(False, 1_000_000_000_000_000)
            trades = hbt.last_trades(0)
            for i in range(len(trades)):
                ticks += 1
                s, z = splitmix(s)
                if (z >> uint64(11)) / TWO53 < rate:
                    s, z = splitmix(s)
                    orders += 1
                    px = trades[i].px
                    if z & uint64(1) == 0:
                        hbt.submit_buy_order(0, orders, px, qty, GTC, MARKET, False)
                    else:
                        hbt.submit_sell_order(0, orders, px, qty, GTC, MARKET, False)
            hbt.clear_last_trades(0)
            hbt.clear_inactive_orders(0)
            if rc != 2:  # 1: end of data; anything else: an error
                break
        sv = hbt.state_values(0)
        return ticks, orders, sv.num_trades, sv.trading_value / sv.trading_volume, rc

    def build(events):
        asset = (
            BacktestAsset()
            .data(events)
            .linear_asset(1.0)
            .constant_order_latency(0, 0)
            .risk_adverse_queue_model()
            .no_partial_fill_exchange()
            .trading_value_fee_model(0.001, 0.001)
            .tick_size(0.01)
            .lot_size(0.00001)
            .last_trades_capacity(64)
        )
        return HashMapMarketDepthBacktest([asset])

    events = np.load(data_dir / HFT_NAME)["data"]
    warm_events = events[:1000].copy()  # the backtester keeps a pointer: keep the array alive
    warm = build(warm_events)
    dummy(warm, seed, rate, qty)  # numba compiles here
    warm.close()
    hbt = build(events)
    c0, t0 = time.process_time(), time.perf_counter()
    ticks, orders, fills, avg_fill_px, rc = dummy(hbt, seed, rate, qty)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    hbt.close()
    if rc != 1:
        raise RuntimeError(f"hftbacktest: wait_next_feed returned {rc} (expected 1, end of data)")
    return {
        "ticks": int(ticks),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "orders": int(orders),
        "fills": int(fills),
        # With no depth in the input, hftbacktest fills market orders at its empty book's
        # sentinel best price (i64::MAX ticks): the fill work is done, the price is not real.
        "avg_fill_px": float(avg_fill_px),
    }


def worker_nautilus(data_dir: Path, seed: int, rate: float, qty: float) -> dict:
    import numpy as np
    import pyarrow.parquet as pq
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig, StrategyConfig
    from nautilus_trader.model.currencies import BTC, USDT
    from nautilus_trader.model.data import TradeTick
    from nautilus_trader.model.enums import AccountType, BookType, OmsType, OrderSide
    from nautilus_trader.model.identifiers import InstrumentId, TraderId, Venue
    from nautilus_trader.model.objects import Money
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.trading.strategy import Strategy

    class DummyConfig(StrategyConfig, frozen=True):
        instrument_id: str
        seed: int
        rate: float
        qty: float

    class Dummy(Strategy):
        def __init__(self, config: DummyConfig) -> None:
            super().__init__(config)
            self.rng = config.seed
            self.rate = config.rate
            self.ticks = 0
            self.sent = 0

        def on_start(self) -> None:
            self.iid = InstrumentId.from_str(self.config.instrument_id)
            self.order_qty = self.cache.instrument(self.iid).make_qty(self.config.qty)
            self.subscribe_trade_ticks(self.iid)

        def next_u64(self) -> int:
            s = (self.rng + GOLDEN) & MASK64
            self.rng = s
            z = ((s ^ (s >> 30)) * MIX1) & MASK64
            z = ((z ^ (z >> 27)) * MIX2) & MASK64
            return z ^ (z >> 31)

        def on_trade_tick(self, tick: TradeTick) -> None:
            self.ticks += 1
            if (self.next_u64() >> 11) / TWO53 < self.rate:
                side = OrderSide.BUY if self.next_u64() & 1 == 0 else OrderSide.SELL
                self.sent += 1
                self.submit_order(self.order_factory.market(self.iid, side, self.order_qty))

        def on_stop(self) -> None:
            pass

    table = pq.read_table(data_dir / PARQUET_NAME)
    inst = TestInstrumentProvider.btcusdt_binance()
    col = lambda name: table.column(name).to_numpy().copy()  # noqa: E731 (writable copies)
    ticks = TradeTick.from_raw_arrays_to_list(
        inst.id,
        inst.price_precision,
        inst.size_precision,
        col("price"),
        col("quantity"),
        np.where(col("buyer_maker"), 2, 1).astype(np.uint8),  # 2 = SELLER aggressed
        [str(t) for t in table.column("trade_id").to_pylist()],
        col("ts_event").astype(np.uint64),
        col("ts_init").astype(np.uint64),
    )
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId("BENCH-001"),
            logging=LoggingConfig(log_level="ERROR"),
            run_analysis=False,
        )
    )
    venue = Venue("BINANCE")
    engine.add_venue(
        venue,
        OmsType.NETTING,
        AccountType.CASH,
        [Money(1_000_000, USDT), Money(100, BTC)],
        book_type=BookType.L1_MBP,
        trade_execution=True,  # trades move the simulated book, so market orders fill
    )
    engine.add_instrument(inst)
    engine.add_data(ticks)
    strategy = Dummy(DummyConfig(instrument_id=str(inst.id), seed=seed, rate=rate, qty=qty))
    engine.add_strategy(strategy)
    c0, t0 = time.process_time(), time.perf_counter()
    engine.run()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    orders = engine.cache.orders()
    filled = sum(1 for o in orders if o.is_closed and o.filled_qty > 0)
    fill_events = [e for o in orders for e in o.events if type(e).__name__ == "OrderFilled"]
    volume = sum(float(e.last_qty) for e in fill_events)
    value = sum(float(e.last_px) * float(e.last_qty) for e in fill_events)
    out = {
        "ticks": strategy.ticks,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "orders": strategy.sent,
        "fills": len(fill_events),
        "orders_filled": filled,
        "avg_fill_px": value / volume if volume else None,
    }
    engine.dispose()
    return out


# ---------------------------------------------------------------------------------------------
# tickrail: a backtest configuration derived from config/engine.toml, and the release binary.


def absolutize(v, base: Path):
    """Relative paths that exist under `base` become absolute (the config moves elsewhere)."""
    if isinstance(v, str) and v and not os.path.isabs(v) and (base / v).exists():
        return str((base / v).resolve())
    if isinstance(v, list):
        return [absolutize(x, base) for x in v]
    if isinstance(v, dict):
        return {k: absolutize(x, base) for k, x in v.items()}
    return v


def tickrail_config(template: Path, capture: Path, out_dir: Path) -> Path:
    """`template` for a BTCUSDT-only trade backtest in which the risk gate refuses no order.

    The peers have no risk gate, so every limit that this run's random orders could hit
    (rates, position, exposure, drawdown, daily loss, cool-down) is set to 0 (off); the gate
    still runs its per-order checks. Equity is large enough that cash never limits.
    """
    doc = absolutize(tomllib.loads(template.read_text()), template.parent)
    doc["feed"]["symbols"] = ["BTCUSDT"]
    doc["feed"]["streams"] = ["trade"]
    doc.setdefault("replay", {})["captures"] = [str(capture)]
    doc["report"]["dir"] = str(out_dir / "runs")
    risk = doc.get("risk", {})
    for key in (
        "max_position_qty",
        "max_gross_exposure_usdt",
        "max_orders_per_s",
        "max_orders_per_min",
        "max_drawdown_pct",
        "daily_loss_limit_usdt",
        "cooldown_after_losses",
    ):
        if key in risk:
            risk[key] = 0
    if isinstance(risk.get("symbol"), dict):
        risk["symbol"] = {s: v for s, v in risk["symbol"].items() if s == "BTCUSDT"}
        if not risk["symbol"]:
            del risk["symbol"]
    if "paper" in doc and "initial_equity_usdt" in doc["paper"]:
        doc["paper"]["initial_equity_usdt"] = 1_000_000
    path = out_dir / "engine.toml"
    header = f"# Generated by benches/peers/backtest_peers.py from {template}. Do not edit.\n"
    path.write_text(header + toml_dump(doc))
    return path


RATE_RE = re.compile(r"^([\d,\s\u202f]+) ticks in ([\d.]+) s \(([\d.]+) M ticks/s\)", re.M)


def priority(nice: int):
    """A `preexec_fn` that changes the child's nice value (negative: ahead of other work)."""
    return (lambda: os.nice(nice)) if nice else None


def make_archive(binary: Path, config: Path, capture: Path, archive: Path) -> None:
    """The capture normalised once into a tick archive (`tickrail data archive`): what
    hftbacktest's .npz is to its own input, a binary form made before the timed run."""
    cmd = [str(binary), "data", "archive", "--config", str(config), "--capture", str(capture)]
    cmd += ["--out", str(archive)]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


def run_tickrail(
    binary: Path,
    config: Path,
    source: tuple[str, Path],
    plugin: Path,
    plugin_cfg: Path,
    report: Path,
    nice: int,
) -> dict:
    cmd = [
        str(binary),
        "backtest",
        "--config",
        str(config),
        source[0],
        str(source[1]),
        "--plugin",
        str(plugin),
        "--plugin-config",
        str(plugin_cfg),
        "--report",
        str(report),
    ]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, preexec_fn=priority(nice))
    if p.returncode != 0:
        raise RuntimeError(f"tickrail backtest failed ({p.returncode}):\n{p.stderr}{p.stdout}")
    m = RATE_RE.search(p.stdout)
    if not m:
        raise RuntimeError(f"tickrail backtest: no `N ticks in X s` line in:\n{p.stdout}")
    ticks = int(re.sub(r"\D", "", m.group(1)))
    out = {"ticks": ticks, "seconds": float(m.group(2))}
    try:
        rep = json.loads(report.read_text())
        out.update(find_counts(rep))
    except (OSError, ValueError):
        pass
    return out


def find_counts(rep: dict) -> dict:
    """Order and fill counts from tickrail's report, wherever the current layout keeps them."""
    found = {}

    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, path + [k])
        elif isinstance(v, int) and path and path[-1] in ("orders", "fills", "refused"):
            found.setdefault(path[-1], v)

    walk(rep, [])
    return found


# ---------------------------------------------------------------------------------------------
# Driver.


def versions(python: str, binary: Path) -> dict:
    code = (
        "import json, importlib.metadata as m\n"
        "out = {}\n"
        "for n in ('hftbacktest', 'nautilus_trader', 'numba', 'numpy', 'pyarrow'):\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: out[n] = None\n"
        "print(json.dumps(out))\n"
    )
    v = json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True).stdout)
    v["python"] = platform.python_version()

    def cmd(*c):
        try:
            return subprocess.run(c, cwd=ROOT, capture_output=True, text=True).stdout.strip()
        except OSError:
            return None

    v["rustc"] = cmd("rustc", "--version")
    v["tickrail_commit"] = cmd("git", "rev-parse", "--short", "HEAD")
    dirty = cmd("git", "status", "--porcelain", "--untracked-files=no")
    v["tickrail_tree"] = "modified" if dirty else "clean"
    if binary.is_file():
        digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:16]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(binary.stat().st_mtime))
        v["tickrail_binary"] = f"sha256 {digest}…, built {stamp}"
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    v["cpu"] = f"{cpu}, {os.cpu_count()} cores"
    return v


def build_tickrail() -> None:
    for pkg, extra in (("tickrail-engine", ["--bin", "tickrail"]), ("tickrail-plugin-dummy", [])):
        cmd = ["cargo", "build", "--release", "-p", pkg, *extra]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=ROOT, check=True)


def run_worker(name: str, args) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        name,
        "--data",
        str(args.data),
        "--plugin-config",
        str(args.plugin_config),
    ]
    p = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, preexec_fn=priority(args.nice)
    )
    if p.returncode != 0:
        raise RuntimeError(f"{name} failed ({p.returncode}):\n{p.stderr[-4000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def summarise(name: str, runs: list[dict]) -> dict:
    rates = [r["ticks"] / r["seconds"] for r in runs]
    med = statistics.median(rates)
    mid = min(runs, key=lambda r: abs(r["ticks"] / r["seconds"] - med))
    return {
        "tool": LABELS[name],
        "ticks": mid["ticks"],
        "median_ticks_per_s": med,
        "median_seconds": statistics.median(r["seconds"] for r in runs),
        "ticks_per_s_runs": rates,
        "orders": mid.get("orders"),
        "fills": mid.get("fills"),
        "median_cpu_seconds": (
            statistics.median(r["cpu_seconds"] for r in runs)
            if all("cpu_seconds" in r for r in runs)
            else None
        ),
        "load_avg_1m_runs": [r["load_before"][0] for r in runs],
        "runs": runs,
    }


def markdown(result: dict) -> str:
    rows = result["results"]
    base = rows.get("hftbacktest", {}).get("median_ticks_per_s")
    out = [
        f"Input: {result['input']['rows']:,} synthetic BTCUSDT trades (seed "
        f"{result['input']['seed']}); median of {result['runs']} runs each, run in turn; "
        f"nice {result['nice']:+d}; {result['versions']['cpu']}.",
        "",
        "| tool | version | ticks | median time (s) | median ticks/s | vs hftbacktest "
        "| orders sent | fills | load (1 min) at each run |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    vers = result["versions"]
    version_of = {
        "hftbacktest": vers.get("hftbacktest"),
        "nautilus": vers.get("nautilus_trader"),
        "tickrail": f"{vers.get('tickrail_commit')} ({vers.get('tickrail_tree')})",
    }
    version_of["tickrail-archive"] = version_of["tickrail"]
    for name in PEERS:
        r = rows.get(name)
        if r is None:
            continue
        if "error" in r:
            gaps = " — |" * 6
            out.append(f"| {LABELS[name]} | {version_of[name]} |{gaps} not run: {r['error']} |")
            continue
        ratio = f"{r['median_ticks_per_s'] / base:.3g}×" if base else "—"
        out.append(
            f"| {r['tool']} | {version_of[name]} | {r['ticks']:,} | {r['median_seconds']:.3f} "
            f"| {r['median_ticks_per_s'] / 1e6:.3f} M | {ratio} | {r['orders'] or '—'} "
            f"| {r['fills'] or '—'} | {', '.join(f'{x:.2f}' for x in r['load_avg_1m_runs'])} |"
        )
    out += ["", "Timed regions: see `benches/peers/README.md`."]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per tool (median reported)")
    ap.add_argument("--only", nargs="+", choices=PEERS, default=list(PEERS), help="tools to run")
    ap.add_argument("--data", type=Path, default=ROOT / "target/peers/data")
    ap.add_argument("--out", type=Path, default=ROOT / "target/peers/results")
    ap.add_argument("--no-build", action="store_true", help="use the existing release build")
    ap.add_argument(
        "--release-dir",
        type=Path,
        default=ROOT / "target/release",
        help="where the tickrail binary and the dummy plugin's .so are (with --no-build)",
    )
    ap.add_argument("--engine-config", type=Path, default=ROOT / "config/engine.toml")
    ap.add_argument("--plugin-config", type=Path, default=ROOT / "config/plugins/dummy.json")
    ap.add_argument(
        "--nice",
        type=int,
        default=0,
        help="nice value change for the measured processes (negative needs root: on a shared "
        "machine, -10 puts the runs ahead of background builds)",
    )
    ap.add_argument("--worker", choices=("hftbacktest", "nautilus"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    a.data, a.out = a.data.resolve(), a.out.resolve()
    seed, rate, qty = dummy_params(a.plugin_config)

    if a.worker:
        fn = worker_hftbacktest if a.worker == "hftbacktest" else worker_nautilus
        print(json.dumps(fn(a.data, seed, rate, qty)))
        return 0

    if a.runs < 1:
        ap.error("--runs: expected at least 1")
    manifest = json.loads((a.data / "manifest.json").read_text())
    a.out.mkdir(parents=True, exist_ok=True)
    capture = a.data / CAPTURE_NAME
    binary = a.release_dir / "tickrail"
    plugin = a.release_dir / "libtickrail_plugin_dummy.so"
    archive = a.data / "btcusdt_synthetic.ticks"
    errors: dict[str, str] = {}
    ours = [n for n in ("tickrail", "tickrail-archive") if n in a.only]
    if ours:
        try:
            if not a.no_build:
                build_tickrail()
            engine_cfg = tickrail_config(a.engine_config, capture, a.out)
            if "tickrail-archive" in ours:
                make_archive(binary, engine_cfg, capture, archive)
        except (OSError, subprocess.CalledProcessError, tomllib.TOMLDecodeError) as e:
            for n in ours:
                errors[n] = f"setting up: {e}"
            print(f"tickrail: setting up: {e}", file=sys.stderr)

    result = {
        "input": {"rows": manifest["rows"], "seed": manifest["seed"], "data": str(a.data)},
        "strategy": {"seed": seed, "rate": rate, "qty": qty},
        "runs": a.runs,
        "nice": a.nice,
        "versions": versions(sys.executable, binary),
        "results": {},
    }
    # Round-robin (run 1 of every tool, then run 2, ...): a change in background load during
    # the measurement then touches every tool alike.
    names = [n for n in PEERS if n in a.only]
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for i in range(a.runs):
        for name in names:
            if name in errors:
                continue
            before = load_avg()
            try:
                if name in ("tickrail", "tickrail-archive"):
                    report = a.out / "runs" / f"{name}-{i}" / "report.json"
                    source = ("--capture", capture) if name == "tickrail" else ("--archive", archive)
                    r = run_tickrail(
                        binary, engine_cfg, source, plugin, a.plugin_config, report, a.nice
                    )
                else:
                    r = run_worker(name, a)
            except Exception as e:  # a tool that cannot run is reported; the others still run
                text = str(e).strip()
                errors[name] = text.splitlines()[-1].strip() if text else type(e).__name__
                print(f"{LABELS[name]}: {e}", file=sys.stderr)
                continue
            r["load_before"] = before
            r["load_after"] = load_avg()
            runs[name].append(r)
            print(
                f"{LABELS[name]:>15} run {i + 1}/{a.runs}: {r['ticks']:,} ticks in "
                f"{r['seconds']:.3f} s = {r['ticks'] / r['seconds'] / 1e6:.3f} M ticks/s "
                f"(orders {r.get('orders')}, fills {r.get('fills')}, load {before[0]})",
                flush=True,
            )
    for name in names:
        if name in errors:
            result["results"][name] = {"tool": LABELS[name], "error": errors[name]}
        else:
            result["results"][name] = summarise(name, runs[name])

    (a.out / "peers.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (a.out / "peers.md").write_text(md)
    print()
    print(md)
    print(f"written: {a.out / 'peers.json'}, {a.out / 'peers.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
