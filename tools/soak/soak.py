#!/usr/bin/env python3
"""Soak test for tickrail: run the engine for a long time and watch its resources.

Starts `tickrail run --duration D` (by default against the bundled config, whose embedded replay
loops the recorded capture; with --drop-every against an external `tickrail replay --loop
--drop-every N` so the feed is dropped and has to reconnect), samples the process every
--interval seconds from /proc (VmRSS, Threads, open fds) and from the engine's own /metrics
(ticks, reconnects, feed connected, orders, RSS as the engine sees it), and writes into --out:

  samples.csv    one row per sample
  summary.json   RSS growth per hour (least-squares slope after the warm-up), min/max fds and
                 threads, reconnects survived, availability %, ticks/s, exit status
  soak.svg       RSS, fds and threads over time
  engine.log     the engine's stdout and stderr (replay.log for the external replay)
  config.toml    the configuration the engine ran with

The run gets a configuration of its own (a copy of --config with relative paths made absolute,
its own ops port, journal, report, log directory and kill-switch file inside --out), so it does
not collide with other engines on the machine. Python standard library only; builds nothing.

    python3 tools/soak/soak.py --binary target/release/tickrail --duration 1h \\
        --drop-every 200000 --speed 10 --out target/soak/1h

    python3 tools/soak/soak.py --analyze target/soak/1h   # summary and plot from samples.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from toml_write import toml_dump  # noqa: E402

# Columns of samples.csv, in order.
COLUMNS = [
    "t_s",  # seconds since the engine was started
    "rss_kib",  # /proc/<pid>/status VmRSS
    "threads",  # /proc/<pid>/status Threads
    "fds",  # entries of /proc/<pid>/fd
    "scrape_ok",  # 1 when /metrics answered
    "m_rss_bytes",  # tickrail_process_resident_memory_bytes
    "m_fds",  # tickrail_process_open_fds
    "m_threads",  # tickrail_process_threads
    "ticks_received",  # tickrail_ticks_received_total
    "ticks_processed",  # tickrail_ticks_processed_total
    "reconnects",  # tickrail_feed_reconnects_total
    "gaps",  # tickrail_feed_gaps_total
    "stale",  # tickrail_feed_stale_total
    "feed_connected",  # tickrail_feed_connected
    "availability",  # tickrail_feed_availability_ratio
    "ring_input",  # tickrail_ring_occupancy{ring="input"}
    "orders",  # tickrail_orders_total
    "fills",  # tickrail_fills_total
    "plugin_panics",  # tickrail_plugin_panics_total
]

# /metrics series copied into a column: (column, metric name, label filter or None = sum all).
SCRAPED = [
    ("m_rss_bytes", "tickrail_process_resident_memory_bytes", None),
    ("m_fds", "tickrail_process_open_fds", None),
    ("m_threads", "tickrail_process_threads", None),
    ("ticks_received", "tickrail_ticks_received_total", None),
    ("ticks_processed", "tickrail_ticks_processed_total", None),
    ("reconnects", "tickrail_feed_reconnects_total", None),
    ("gaps", "tickrail_feed_gaps_total", None),
    ("stale", "tickrail_feed_stale_total", None),
    ("feed_connected", "tickrail_feed_connected", None),
    ("availability", "tickrail_feed_availability_ratio", None),
    ("ring_input", "tickrail_ring_occupancy", 'ring="input"'),
    ("orders", "tickrail_orders_total", None),
    ("fills", "tickrail_fills_total", None),
    ("plugin_panics", "tickrail_plugin_panics_total", None),
]

# Keys of the engine config holding a path relative to the config file's directory.
PATH_KEYS = [
    ("strategy", "config"),
    ("model", "path"),
    ("risk", "kill_switch_file"),
    ("ops", "token_file"),
    ("alerts", "token_file"),
]

METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def parse_duration(text: str) -> float:
    """`90`, `30s`, `5m`, `48h` -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30s, 5m, 48h)")
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2) or "s"]
    return float(m.group(1)) * unit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Configuration: load with tomllib, adjust, write back with a small TOML writer.


def absolute(base: Path, p: str) -> str:
    if not p or Path(p).is_absolute():
        return p
    return str((base / p).resolve())


def soak_config(args, out: Path, ops_port: int) -> dict:
    """The engine config of the soak run: --config with every relative path made absolute and
    the run's own ops port, journal, report, logs and kill-switch file under `out`."""
    src = Path(args.config).resolve()
    with open(src, "rb") as f:
        doc = tomllib.load(f)
    base = src.parent
    for section, key in PATH_KEYS:
        if section in doc and isinstance(doc[section].get(key), str):
            doc[section][key] = absolute(base, doc[section][key])
    strat = doc.get("strategy", {})
    plugin = strat.get("plugin", "")
    if isinstance(plugin, str) and plugin not in ("none", "") and not plugin.startswith("builtin:"):
        strat["plugin"] = absolute(base, plugin)
    replay = doc.setdefault("replay", {})
    replay["captures"] = [absolute(base, c) for c in replay.get("captures", [])]
    if args.speed is not None:
        replay["speed"] = args.speed
    doc.setdefault("journal", {})["dir"] = str(out / "journal")
    doc.setdefault("report", {})["dir"] = str(out / "report")
    if "logs" in doc:
        doc["logs"]["dir"] = str(out / "logs")
    doc.setdefault("risk", {})["kill_switch_file"] = str(out / "KILL")
    ops = doc.setdefault("ops", {})
    ops["enabled"] = True
    ops["listen"] = f"127.0.0.1:{ops_port}"
    if "alerts" in doc:
        doc["alerts"]["enabled"] = False
    return doc


# ---------------------------------------------------------------------------------------------
# Sampling.


def proc_sample(pid: int) -> dict | None:
    """VmRSS (KiB), Threads and the open fd count of `pid`; None once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    row = {"rss_kib": "", "threads": "", "fds": fds}
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            row["rss_kib"] = int(line.split()[1])
        elif line.startswith("Threads:"):
            row["threads"] = int(line.split()[1])
    if line_state_zombie(status):
        return None
    return row


def line_state_zombie(status: str) -> bool:
    for line in status.splitlines():
        if line.startswith("State:"):
            return "Z" in line.split()[1]
    return False


def scrape(url: str, timeout: float = 2.0) -> dict | None:
    """The columns of SCRAPED from a /metrics page; None when it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            text = r.read().decode("utf-8", "replace")
    except OSError:
        return None
    found: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRIC_LINE.match(line)
        if not m:
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        try:
            v = float(value)
        except ValueError:
            continue
        for col, metric, want in SCRAPED:
            if name == metric and (want is None or want in labels):
                found[col] = found.get(col, 0.0) + v
    return {col: found.get(col, "") for col, _, _ in SCRAPED}


def fmt(v) -> str:
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else f"{v:.6g}"
    return str(v)


# ---------------------------------------------------------------------------------------------
# Analysis.


def num(row: dict, col: str) -> float | None:
    v = row.get(col, "")
    if v in ("", None):
        return None
    try:
        f = float(v)
    except ValueError:
        return None
    return None if math.isnan(f) else f


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of ys over xs."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def min_max(rows: list[dict], col: str) -> list[float] | None:
    vals = [v for v in (num(r, col) for r in rows) if v is not None]
    return [min(vals), max(vals)] if vals else None


def summarize(rows: list[dict], warmup_s: float, meta: dict) -> dict:
    steady = [r for r in rows if (num(r, "t_s") or 0) >= warmup_s]
    if len(steady) < 2:
        steady = rows
    pts = [(num(r, "t_s"), num(r, "rss_kib")) for r in steady]
    pts = [(t, v) for t, v in pts if t is not None and v is not None]
    k = slope([t for t, _ in pts], [v for _, v in pts])
    scraped = [r for r in rows if num(r, "scrape_ok") == 1]
    last = scraped[-1] if scraped else {}
    connected = [r for r in scraped if num(r, "feed_connected") is not None]
    t_end = num(rows[-1], "t_s") if rows else None

    def rate(col: str) -> float | None:
        s = [r for r in steady if num(r, "scrape_ok") == 1 and num(r, col) is not None]
        if len(s) < 2:
            return None
        dt = num(s[-1], "t_s") - num(s[0], "t_s")
        return (num(s[-1], col) - num(s[0], col)) / dt if dt > 0 else None

    rss_steady = [v for _, v in pts]
    summary = {
        **meta,
        "samples": len(rows),
        "sampled_s": t_end,
        "warmup_s": warmup_s,
        "rss_growth_mib_per_h": None if k is None else k * 3600 / 1024,
        "rss_mib": {
            "first": (num(rows[0], "rss_kib") or 0) / 1024 if rows else None,
            "after_warmup": rss_steady[0] / 1024 if rss_steady else None,
            "last": rss_steady[-1] / 1024 if rss_steady else None,
            "max": max(rss_steady) / 1024 if rss_steady else None,
        },
        "fds": {"all": min_max(rows, "fds"), "after_warmup": min_max(steady, "fds")},
        "threads": {"all": min_max(rows, "threads"), "after_warmup": min_max(steady, "threads")},
        "reconnects": num(last, "reconnects"),
        "gaps": num(last, "gaps"),
        "stale": num(last, "stale"),
        # Share of answered scrapes that found the feed connected (the script's own measure) ...
        "availability_pct_sampled": (
            100.0 * sum(1 for r in connected if num(r, "feed_connected") == 1) / len(connected)
            if connected
            else None
        ),
        # ... and the engine's tickrail_feed_availability_ratio at the last scrape.
        "availability_pct_engine": (
            None if num(last, "availability") is None else 100.0 * num(last, "availability")
        ),
        "ticks_received": num(last, "ticks_received"),
        "ticks_processed": num(last, "ticks_processed"),
        "ticks_per_s": rate("ticks_processed"),
        "orders": num(last, "orders"),
        "fills": num(last, "fills"),
        "plugin_panics": num(last, "plugin_panics"),
        "scrapes_failed": sum(1 for r in rows if num(r, "scrape_ok") != 1),
    }
    return summary


def plot(rows: list[dict], path: Path, title: str, warmup_s: float) -> None:
    """Three stacked panels (RSS MiB, open fds, threads) over time, as plain SVG; a dashed line
    marks the end of the warm-up."""
    panels = [("RSS (MiB)", "rss_kib", 1 / 1024), ("open fds", "fds", 1), ("threads", "threads", 1)]
    w, ph, left, right, top, gap = 900, 170, 70, 20, 60, 45
    h = top + len(panels) * (ph + gap)
    ts_s = [num(r, "t_s") or 0 for r in rows]
    unit, div = ("min", 60) if (ts_s[-1] if ts_s else 0) >= 600 else ("s", 1)
    ts = [t / div for t in ts_s]
    t_max = max(ts[-1] if ts else 1, 1e-9)
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{left}" y="24" font-size="15">{escape(title)}</text>',
    ]
    for i, (label, col, scale) in enumerate(panels):
        y0 = top + i * (ph + gap)
        pts = [(t, num(r, col)) for t, r in zip(ts, rows)]
        pts = [(t, v * scale) for t, v in pts if v is not None]
        lo = min((v for _, v in pts), default=0)
        hi = max((v for _, v in pts), default=1)
        pad = max((hi - lo) * 0.1, abs(hi) * 0.01, 1e-9)
        lo, hi = max(lo - pad, 0.0) if lo >= 0 else lo - pad, hi + pad
        pw = w - left - right

        def xy(t: float, v: float) -> str:
            return f"{left + pw * t / t_max:.1f},{y0 + ph - ph * (v - lo) / (hi - lo):.1f}"

        svg.append(f'<rect x="{left}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
        svg.append(f'<text x="{left}" y="{y0 - 6}" font-weight="bold">{escape(label)}</text>')
        for frac in (0, 0.5, 1):
            v = lo + (hi - lo) * frac
            y = y0 + ph - ph * frac
            svg.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:.4g}</text>')
            svg.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        for frac in (0, 0.25, 0.5, 0.75, 1):
            x = left + pw * frac
            svg.append(
                f'<text x="{x:.1f}" y="{y0 + ph + 15}" text-anchor="middle">{t_max * frac:.0f} {unit}</text>'
            )
        wx = left + pw * min(warmup_s / div / t_max, 1)
        svg.append(
            f'<line x1="{wx:.1f}" x2="{wx:.1f}" y1="{y0}" y2="{y0 + ph}" stroke="#d62728" stroke-dasharray="4 3"/>'
        )
        if pts:
            line = " ".join(xy(t, v) for t, v in pts)
            svg.append(f'<polyline points="{line}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>')
    svg.append("</svg>")
    path.write_text("\n".join(svg) + "\n")


def escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def finish(out: Path, rows: list[dict], warmup_s: float, meta: dict) -> dict:
    summary = summarize(rows, warmup_s, meta)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    growth = summary["rss_growth_mib_per_h"]
    title = "tickrail soak: " + (
        f"RSS growth {growth:+.3f} MiB/h after {warmup_s:.0f} s warm-up" if growth is not None else ""
    )
    plot(rows, out / "soak.svg", title, warmup_s)
    return summary


# ---------------------------------------------------------------------------------------------
# The run.


def stop(proc: subprocess.Popen | None, sig: int, wait_s: float) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run(args) -> int:
    out = Path(args.out or f"target/soak/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    out.mkdir(parents=True, exist_ok=True)
    binary = str(Path(args.binary).resolve())
    ops_port = args.ops_port or free_port()
    doc = soak_config(args, out.resolve(), ops_port)
    cfg_path = out / "config.toml"
    cfg_path.write_text(toml_dump(doc))

    replay = None
    cmd = [binary, "run", "--config", str(cfg_path.resolve()), "--duration", args.duration]
    if args.drop_every:
        port = args.replay_port or free_port()
        rcmd = [binary, "replay", "--listen", f"127.0.0.1:{port}", "--loop"]
        rcmd += ["--speed", str(args.speed or "1"), "--drop-every", str(args.drop_every)]
        rcmd += ["--skip-on-reconnect", str(args.skip_on_reconnect), "--capture"]
        rcmd += doc["replay"]["captures"]
        replay = subprocess.Popen(rcmd, stdout=open(out / "replay.log", "wb"), stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if replay.poll() is not None:
                    sys.exit(f"soak: the replay server exited ({out / 'replay.log'})")
                time.sleep(0.1)
        cmd += ["--url", f"ws://127.0.0.1:{port}"]
    if args.plugin:
        cmd += ["--plugin", str(Path(args.plugin).resolve())]
    if args.plugin_config:
        cmd += ["--plugin-config", str(Path(args.plugin_config).resolve())]
    cmd += ["--report", str((out / "report" / "report.json").resolve())]

    meta = {
        "command": cmd,
        "replay_command": replay.args if replay else None,
        "duration_s": parse_duration(args.duration),
        "interval_s": args.interval,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / "command.txt").write_text(" ".join(cmd) + "\n")
    engine = subprocess.Popen(cmd, stdout=open(out / "engine.log", "wb"), stderr=subprocess.STDOUT)
    t0 = time.monotonic()
    url = f"http://127.0.0.1:{ops_port}/metrics"
    print(f"soak: engine pid {engine.pid}, metrics {url}, writing {out}", flush=True)

    interrupted = False

    def on_signal(signum, _frame):
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    rows: list[dict] = []
    with open(out / "samples.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        next_t = t0
        while engine.poll() is None and not interrupted:
            p = proc_sample(engine.pid)
            if p is None:
                break
            m = scrape(url)
            row = {"t_s": f"{time.monotonic() - t0:.1f}", **p, "scrape_ok": int(m is not None), **(m or {})}
            row = {c: fmt(row.get(c, "")) for c in COLUMNS}
            w.writerow(row)
            f.flush()
            rows.append(row)
            next_t += args.interval
            while not interrupted and engine.poll() is None and time.monotonic() < next_t:
                time.sleep(min(0.5, max(0.0, next_t - time.monotonic())))
    if interrupted:
        stop(engine, signal.SIGINT, 60)
    else:
        try:
            engine.wait(args.interval + 120)
        except subprocess.TimeoutExpired:
            stop(engine, signal.SIGINT, 60)
    stop(replay, signal.SIGTERM, 10)
    meta["exit_code"] = engine.returncode
    meta["interrupted"] = interrupted
    meta["wall_s"] = time.monotonic() - t0
    warmup = args.warmup if args.warmup is not None else min(300.0, 0.1 * meta["duration_s"])
    (out / "meta.json").write_text(json.dumps({**meta, "warmup_s": warmup}, indent=2) + "\n")
    summary = finish(out, rows, warmup, meta)
    print(json.dumps(summary, indent=2))
    return 0 if engine.returncode == 0 else 1


def analyze(args) -> int:
    out = Path(args.analyze)
    meta_path = out / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    warmup = args.warmup if args.warmup is not None else meta.pop("warmup_s", 300.0)
    meta.pop("warmup_s", None)
    summary = finish(out, read_csv(out / "samples.csv"), warmup, meta)
    print(json.dumps(summary, indent=2))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default="target/release/tickrail", help="the tickrail binary (not built here)")
    p.add_argument("--config", default="config/engine.toml", help="engine config to start from")
    p.add_argument("--duration", default="1h", help="`tickrail run --duration` (30s, 5m, 48h)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--warmup", type=float, help="seconds left out of the RSS slope (default min(300, 10%% of the run))")
    p.add_argument("--out", help="output directory (default target/soak/<UTC time>)")
    p.add_argument("--ops-port", type=int, help="[ops] listen port of the run (default: a free one)")
    p.add_argument("--speed", help="replay speed: `max` or a factor of the recorded pace")
    p.add_argument("--drop-every", type=int, help="serve from an external `tickrail replay` that drops each connection after N messages")
    p.add_argument("--skip-on-reconnect", type=int, default=0, help="messages the external replay skips while a dropped client reconnects")
    p.add_argument("--replay-port", type=int, help="port of the external replay (default: a free one)")
    p.add_argument("--plugin", help="`tickrail run --plugin`")
    p.add_argument("--plugin-config", help="`tickrail run --plugin-config`")
    p.add_argument("--analyze", metavar="DIR", help="only recompute summary.json and soak.svg from DIR/samples.csv")
    args = p.parse_args()
    if args.analyze:
        return analyze(args)
    parse_duration(args.duration)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
