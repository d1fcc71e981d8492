"""Purged walk-forward splits with an embargo.

The last `folds` windows of `frac` of the rows (oldest first) are test windows, in time order; the
last one is the held-out window. Each window is tested by a model trained on the rows before it
(an expanding window: earlier test windows become training rows for later folds), less:

- the **purge**: rows whose label looks into the test window. A row at t is labelled from
  close[t + horizon]; it is kept only when t + horizon bars < the window's first bar, so no
  training label shares a single close with the window (its labels or its features).
- the **embargo**: the `embargo` bars right after every earlier test window. Those rows' features
  (lookbacks of up to hundreds of bars) are computed from prices inside that window, and their
  labels follow right on from it; dropping them keeps every evaluated window, and the bars
  immediately after it, out of the training rows of every later model, including the final one.
  In a forward-only walk-forward nothing after the current test window is ever trained on, so
  the purge alone guards the current window; the embargo is the margin around the earlier ones.

Both are measured in time (bar_ms), not in rows, so missing candles cannot shrink them.
"""


class SplitError(ValueError):
    pass


def windows(t_ms, folds, frac, horizon, embargo, bar_ms):
    """[(train indices, test indices)] per fold; indices into `t_ms` (open times, ascending)."""
    n = len(t_ms)
    w = int(n * frac)
    first = n - folds * w
    if folds < 1 or w < 1 or first < w:
        raise SplitError(f"{folds} windows of {frac} of {n} rows leave too little to train on")
    bounds = [(first + k * w, first + (k + 1) * w if k < folds - 1 else n) for k in range(folds)]
    out = []
    for k, (lo, hi) in enumerate(bounds):
        cut = t_ms[lo] - horizon * bar_ms  # a label at t looks at t + horizon bars
        embargoed = [(t_ms[b - 1], t_ms[b - 1] + embargo * bar_ms) for _, b in bounds[:k]]
        train = [
            i for i in range(lo)
            if t_ms[i] < cut and not any(a < t_ms[i] <= e for a, e in embargoed)
        ]
        out.append((train, list(range(lo, hi))))
    return out
