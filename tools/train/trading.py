"""How a model's probabilities would have traded: a documented rule, its per-bar returns net of
fees, and the figures the engine's backtest reports, computed the way the engine computes them.

The rule, on closed bars: at the close of bar t the model gives p = p_1. With `sides="both"`
(a direction label: p_0 = the price does not go up), the position over the next bar is long (+1)
when p >= enter and short (-1) when p <= 1 - enter; with `sides="long"` (a label net of fees or
above a threshold, where p_0 only says a long would not pay) it is long when p >= enter and flat
when p <= 1 - enter. In between, `between="hold"` keeps the position (what the `ml` plugin does)
and `between="flat"` closes it. A position is the whole equity. The bar's gross return is the
position times close[t+1] / close[t] - 1 (the engine's own 1-bar forward return). Fees: every
change of position pays `fee_bps` per side on the equity it moves — entering or leaving pays one
side, a reversal two (it closes one trade and opens the next) — and a position still open after
the last bar of a window is closed there and pays its exit. No slippage, no funding.

The figures follow engine/src/backtest/metrics.rs:
- a **trade** runs from the bar a position opens to the bar it is closed or reversed; its PnL
  before fees is what its bars earned; win rate = trades with PnL > 0 / trades; **profit factor**
  = gross wins / gross losses of trade PnL before fees, `None` without a losing trade (the engine's
  definition); `profit_factor_net` is the same on trade PnL after both fees;
- **Sharpe** = mean / population standard deviation of the per-bar equity returns (net of fees)
  x sqrt(bars per 365-day year); 0 when the deviation is 0; no risk-free rate;
- **max drawdown** = largest fall of equity from its running peak, as a fraction of that peak,
  over every bar (equity starts at 1);
- **exposure** = share of bars with a position.
"""

import math

YEAR_MS = 365 * 86_400_000


def bars_per_year(bar_ms):
    return YEAR_MS / bar_ms


def positions(p, enter, sides="both", between="hold"):
    """+1 / -1 / 0 per bar from p_1 (see the module doc)."""
    if sides not in ("both", "long") or between not in ("hold", "flat"):
        raise ValueError(f"sides {sides!r} (both, long), between {between!r} (hold, flat)")
    low = -1 if sides == "both" else 0
    out, held = [], 0
    for x in p:
        held = 1 if x >= enter else (low if x <= 1.0 - enter else (held if between == "hold" else 0))
        out.append(held)
    return out


def simulate(pos, ret_1, fee_bps, bar_ms):
    """Trade `pos` (one position per bar) over the bars' simple returns `ret_1`; the figures."""
    if len(pos) != len(ret_1):
        raise ValueError(f"{len(pos)} positions for {len(ret_1)} returns")
    f = fee_bps / 1e4
    equity, peak, max_dd = 1.0, 1.0, 0.0
    held = 0
    trade = None  # [equity before entry, PnL before fees]
    trades = []  # (gross, net)
    returns = []

    def close(e):
        nonlocal trade
        e -= f * e * abs(held)
        trades.append((trade[1], e - trade[0]))
        trade = None
        return e

    last = len(pos) - 1
    for i, (s, r) in enumerate(zip(pos, ret_1)):
        s = int(s)
        start = equity
        if s != held:
            if held:
                equity = close(equity)
            if s:
                trade = [equity, 0.0]
                equity -= f * equity * abs(s)
            held = s
        if held:
            move = equity * held * float(r)
            equity += move
            trade[1] += move
        if held and i == last:
            equity = close(equity)  # the window ends: close what is open
            held = 0
        returns.append(equity / start - 1.0)
        peak = max(peak, equity)
        max_dd = max(max_dd, (peak - equity) / peak)
    return figures(returns, trades, pos, equity, max_dd, bar_ms)


def figures(returns, trades, pos, equity, max_dd, bar_ms):
    n = len(returns)
    mean = sum(returns) / n if n else 0.0
    sd = math.sqrt(sum((r - mean) ** 2 for r in returns) / n) if n else 0.0
    gross_win = sum(g for g, _ in trades if g > 0)
    gross_loss = -sum(g for g, _ in trades if g <= 0)
    net_win = sum(x for _, x in trades if x > 0)
    net_loss = -sum(x for _, x in trades if x <= 0)
    return {
        "bars": n,
        "trades": len(trades),
        "win_rate": sum(1 for g, _ in trades if g > 0) / len(trades) if trades else 0.0,
        "profit_factor": gross_win / gross_loss if gross_loss > 0 else None,
        "profit_factor_net": net_win / net_loss if net_loss > 0 else None,
        "sharpe": mean / sd * math.sqrt(bars_per_year(bar_ms)) if sd > 0 else 0.0,
        "max_drawdown": max_dd,
        "total_return": equity - 1.0,
        "exposure": sum(1 for s in pos if s) / n if n else 0.0,
    }


def rounded(fig):
    """The figures as the sidecar stores them."""
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in fig.items()}


def evaluate(p, ret_1, enter, fee_bps, bar_ms, sides="both", between="hold"):
    """The model's figures on a window and the two baselines on the same bars."""
    n = len(ret_1)
    return {
        "model": rounded(simulate(positions(p, enter, sides, between), ret_1, fee_bps, bar_ms)),
        "always_long": rounded(simulate([1] * n, ret_1, fee_bps, bar_ms)),
        "no_trade": rounded(simulate([0] * n, ret_1, fee_bps, bar_ms)),
    }
