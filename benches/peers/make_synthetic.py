#!/usr/bin/env python3
"""Synthetic BTCUSDT trades for the backtest comparison, in every tool's input format.

One seeded table of trades (a random walk of the best bid in 0.01 USDT ticks, trades at the bid
or the ask, lognormal quantities on the 0.00001 BTC lot, consecutive trade ids, exchange times
about 1 ms apart, receive times 0.8-3 ms later) is written as:

- ``btcusdt_synthetic.capture.gz``: a tickrail capture, one ``<recv_ns> <message>`` line per
  trade, each message a Binance combined-stream ``btcusdt@trade`` envelope with the same fields
  and formatting Binance sends (``"p":"61837.63000000"``).
- ``btcusdt_synthetic.hftbacktest.npz``: hftbacktest's ``event_dtype`` array (key ``data``), one
  trade event per row, valid for both the exchange and the local side.
- ``btcusdt_synthetic.trades.parquet``: the table itself (``ts_event``, ``ts_init``, ``price``,
  ``quantity``, ``trade_id``, ``buyer_maker``, ``ts_event_ms``); NautilusTrader's ``TradeTick``
  objects are built from it.
- ``manifest.json``: seed, row count, price range, and the SHA-256 of each file.

Everything comes from one ``numpy.random.Generator(PCG64(seed))``, so a seed gives byte-identical
files (gzip headers carry no time or name).

Usage: ``make_synthetic.py [--rows 1000000] [--seed 20240809] [--out target/peers/data]``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

SYMBOL = "BTCUSDT"
STREAM = "btcusdt@trade"
TICK_SIZE = 0.01
LOT_SIZE = 0.00001
START_PRICE_TICKS = 6_183_763  # 61837.63 USDT
START_MS = 1_723_161_600_000  # 2024-08-09T00:00:00Z
FIRST_TRADE_ID = 3_735_683_259

# hftbacktest event flags (hftbacktest.types), repeated here so generation needs only numpy.
EXCH_EVENT = 1 << 31
LOCAL_EVENT = 1 << 30
BUY_EVENT = 1 << 29
SELL_EVENT = 1 << 28
TRADE_EVENT = 2
HFT_EVENT_DTYPE = np.dtype(
    [
        ("ev", "u8"),
        ("exch_ts", "i8"),
        ("local_ts", "i8"),
        ("px", "f8"),
        ("qty", "f8"),
        ("order_id", "u8"),
        ("ival", "i8"),
        ("fval", "f8"),
    ],
    align=True,
)

CAPTURE_NAME = "btcusdt_synthetic.capture.gz"
HFT_NAME = "btcusdt_synthetic.hftbacktest.npz"
PARQUET_NAME = "btcusdt_synthetic.trades.parquet"
MANIFEST_NAME = "manifest.json"


def make_rows(rows: int, seed: int) -> dict[str, np.ndarray]:
    """The trade table: integer ticks/lots and nanosecond times, all from one seeded generator."""
    rng = np.random.Generator(np.random.PCG64(seed))
    # Exchange time: exponential gaps with a 1 ms mean, in ns; Binance reports whole ms.
    gaps_ns = rng.exponential(1_000_000.0, rows).astype(np.int64)
    t_ns = START_MS * 1_000_000 + np.cumsum(gaps_ns)
    ts_event_ms = t_ns // 1_000_000
    # Receive time: 0.8 ms network delay plus lognormal jitter (median 0.5 ms), never going back
    # in time (one TCP stream delivers in order).
    delay_ns = 800_000 + rng.lognormal(np.log(500_000.0), 0.6, rows).astype(np.int64)
    ts_init = np.maximum.accumulate(t_ns + delay_ns)
    # Best bid: moves on 10 % of trades by N(0, 50) ticks (~0.17 USDT per trade, about BTC's
    # typical volatility at 1000 trades/s); the spread is one tick.
    moves = np.where(rng.random(rows) < 0.10, np.rint(rng.normal(0.0, 50.0, rows)), 0.0)
    bid_ticks = START_PRICE_TICKS + np.cumsum(moves.astype(np.int64))
    # Buyer is maker (seller aggressed, trade at the bid) on 52 % of trades.
    buyer_maker = rng.random(rows) < 0.52
    price_ticks = np.where(buyer_maker, bid_ticks, bid_ticks + 1)
    # Quantity: lognormal around 0.002 BTC on the 1e-5 lot, 1 lot to 2 BTC.
    qty_lots = np.clip(np.rint(rng.lognormal(np.log(200.0), 1.6, rows)), 1, 200_000).astype(
        np.int64
    )
    return {
        "ts_event": ts_event_ms * 1_000_000,
        "ts_event_ms": ts_event_ms,
        "ts_init": ts_init,
        "price_ticks": price_ticks,
        "qty_lots": qty_lots,
        "trade_id": FIRST_TRADE_ID + np.arange(rows, dtype=np.int64),
        "buyer_maker": buyer_maker,
    }


def decimal8(values: np.ndarray, scale_digits: int) -> list[str]:
    """Integers in units of 10^-scale_digits as Binance's 8-decimal strings."""
    pad = 10 ** (8 - scale_digits)
    whole = 10**8
    out = []
    for v in (values * pad).tolist():
        out.append(f"{v // whole}.{v % whole:08d}")
    return out


def write_capture(path: Path, r: dict[str, np.ndarray]) -> None:
    prices = decimal8(r["price_ticks"], 2)
    qtys = decimal8(r["qty_lots"], 5)
    recv = r["ts_init"].tolist()
    ms = r["ts_event_ms"].tolist()
    ids = r["trade_id"].tolist()
    maker = r["buyer_maker"].tolist()
    # mtime=0 and no file name: the same rows give the same bytes.
    with open(path, "wb") as raw, gzip.GzipFile(
        filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6
    ) as gz:
        chunk = []
        for i in range(len(recv)):
            chunk.append(
                f'{recv[i]} {{"stream":"{STREAM}","data":{{"e":"trade","E":{ms[i]},'
                f'"s":"{SYMBOL}","t":{ids[i]},"p":"{prices[i]}","q":"{qtys[i]}",'
                f'"T":{ms[i]},"m":{"true" if maker[i] else "false"},"M":true}}}}\n'
            )
            if len(chunk) == 65_536:
                gz.write("".join(chunk).encode())
                chunk.clear()
        gz.write("".join(chunk).encode())


def hftbacktest_events(r: dict[str, np.ndarray]) -> np.ndarray:
    n = len(r["ts_event"])
    ev = np.zeros(n, dtype=HFT_EVENT_DTYPE)
    side = np.where(r["buyer_maker"], SELL_EVENT, BUY_EVENT).astype(np.uint64)
    ev["ev"] = np.uint64(EXCH_EVENT | LOCAL_EVENT | TRADE_EVENT) | side
    ev["exch_ts"] = r["ts_event"]
    ev["local_ts"] = r["ts_init"]
    ev["px"] = r["price_ticks"] * TICK_SIZE
    ev["qty"] = r["qty_lots"] * LOT_SIZE
    return ev


def write_parquet(path: Path, r: dict[str, np.ndarray]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "ts_event": r["ts_event"],
            "ts_init": r["ts_init"],
            "ts_event_ms": r["ts_event_ms"],
            "price": r["price_ticks"] * TICK_SIZE,
            "quantity": r["qty_lots"] * LOT_SIZE,
            "price_ticks": r["price_ticks"],
            "qty_lots": r["qty_lots"],
            "trade_id": r["trade_id"],
            "buyer_maker": r["buyer_maker"],
        }
    )
    pq.write_table(table, path, compression="zstd")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="trades to generate")
    ap.add_argument("--seed", type=int, default=20240809, help="random seed")
    ap.add_argument("--out", type=Path, default=Path("target/peers/data"), help="output folder")
    a = ap.parse_args(argv)
    if a.rows < 1:
        ap.error("--rows: expected at least 1")
    a.out.mkdir(parents=True, exist_ok=True)

    r = make_rows(a.rows, a.seed)
    files = {
        "capture": a.out / CAPTURE_NAME,
        "hftbacktest": a.out / HFT_NAME,
        "parquet": a.out / PARQUET_NAME,
    }
    write_capture(files["capture"], r)
    # np.savez (not _compressed): loading is outside every timed region, so keep it simple.
    np.savez(files["hftbacktest"], data=hftbacktest_events(r))
    write_parquet(files["parquet"], r)

    price = r["price_ticks"] * TICK_SIZE
    manifest = {
        "symbol": SYMBOL,
        "rows": a.rows,
        "seed": a.seed,
        "first_ts_event_ns": int(r["ts_event"][0]),
        "last_ts_event_ns": int(r["ts_event"][-1]),
        "span_s": round(int(r["ts_event"][-1] - r["ts_event"][0]) / 1e9, 3),
        "price_min": round(float(price.min()), 2),
        "price_max": round(float(price.max()), 2),
        "price_first": round(float(price[0]), 2),
        "price_last": round(float(price[-1]), 2),
        "qty_median": round(float(np.median(r["qty_lots"]) * LOT_SIZE), 5),
        "files": {k: {"name": p.name, "sha256": sha256(p)} for k, p in files.items()},
    }
    (a.out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    print(
        f"{a.rows} trades, seed {a.seed}, {manifest['span_s']} s, "
        f"price {manifest['price_min']}..{manifest['price_max']} -> {a.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
