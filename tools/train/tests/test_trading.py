"""The trading figures on series small enough to compute by hand."""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import trading  # noqa: E402

BAR_MS = 300_000
ANN = math.sqrt(365 * 288)  # 5-minute bars in a 365-day year


def sharpe(returns):
    m = sum(returns) / len(returns)
    sd = math.sqrt(sum((r - m) ** 2 for r in returns) / len(returns))
    return m / sd * ANN


class Figures(unittest.TestCase):
    def test_always_long_without_fees_is_the_price_path(self):
        r = [0.2, -0.25, 0.1]
        f = trading.simulate([1, 1, 1], r, 0.0, BAR_MS)
        # Equity 1 → 1.2 → 0.9 → 0.99: one trade, PnL -0.01.
        self.assertEqual((f["trades"], f["bars"]), (1, 3))
        self.assertAlmostEqual(f["total_return"], -0.01, places=12)
        self.assertAlmostEqual(f["max_drawdown"], 0.25, places=12)
        self.assertAlmostEqual(f["sharpe"], sharpe(r), places=9)
        self.assertEqual(f["profit_factor"], 0.0)  # no winning trade, one losing: 0 / loss
        self.assertEqual((f["win_rate"], f["exposure"]), (0.0, 1.0))

    def test_profit_factor_counts_trades_before_fees(self):
        # Long 1 bar (+10 %), flat, short 1 bar (price +5 %: -5 %), flat, long 1 bar (+20 %).
        r = [0.10, 0.0, 0.05, 0.0, 0.20]
        f = trading.simulate([1, 0, -1, 0, 1], r, 0.0, BAR_MS)
        # Trade PnL in equity units: +0.10, -0.055 (5 % of 1.10), +0.209 (20 % of 1.045).
        self.assertEqual(f["trades"], 3)
        self.assertAlmostEqual(f["profit_factor"], (0.10 + 0.209) / 0.055, places=9)
        self.assertAlmostEqual(f["win_rate"], 2 / 3, places=12)
        self.assertAlmostEqual(f["total_return"], 1.1 * 0.95 * 1.2 - 1, places=12)
        self.assertAlmostEqual(f["max_drawdown"], 0.05, places=12)
        self.assertAlmostEqual(f["exposure"], 0.6, places=12)

    def test_fees_per_side_and_reversals(self):
        # 10 bps per side. Bar 1: enter long (1 side); bar 2: reverse to short (2 sides); the window
        # ends short, so the exit side is paid on bar 2 too. Prices flat: only fees move equity.
        f = trading.simulate([1, -1], [0.0, 0.0], 10.0, BAR_MS)
        e1 = 1 - 0.001
        e2 = e1 * (1 - 0.001) * (1 - 0.001) * (1 - 0.001)
        self.assertAlmostEqual(f["total_return"], e2 - 1, places=15)
        self.assertEqual(f["trades"], 2)
        self.assertIsNone(f["profit_factor"])  # both trades earned 0 before fees: no losses to divide by
        self.assertEqual(f["profit_factor_net"], 0.0)  # after fees both lost
        self.assertAlmostEqual(f["max_drawdown"], 1 - e2, places=15)

    def test_no_trade(self):
        f = trading.simulate([0, 0, 0], [0.01, -0.02, 0.03], 10.0, BAR_MS)
        self.assertEqual((f["trades"], f["profit_factor"], f["sharpe"], f["max_drawdown"], f["total_return"]),
                         (0, None, 0.0, 0.0, 0.0))

    def test_all_losing(self):
        # Long on every up bar's eve... the wrong way: short into rises, long into falls.
        r = [0.01, -0.02, 0.03, -0.01]
        f = trading.simulate([-1, 1, -1, 1], r, 0.0, BAR_MS)
        self.assertEqual((f["trades"], f["win_rate"], f["profit_factor"]), (4, 0.0, 0.0))
        self.assertLess(f["sharpe"], 0.0)
        returns = [-0.01, -0.02, -0.03, -0.01]
        self.assertAlmostEqual(f["sharpe"], sharpe(returns), places=9)
        self.assertAlmostEqual(f["max_drawdown"], 1 - 0.99 * 0.98 * 0.97 * 0.99, places=12)

    def test_sharpe_is_zero_without_variation(self):
        self.assertEqual(trading.simulate([1, 1], [0.01, 0.01], 0.0, BAR_MS)["sharpe"], 0.0)


class Rule(unittest.TestCase):
    def test_both_sides_hold_between(self):
        p = [0.6, 0.5, 0.4, 0.5, 0.56, 0.44]
        self.assertEqual(trading.positions(p, 0.55), [1, 1, -1, -1, 1, -1])
        self.assertEqual(trading.positions(p, 0.55, between="flat"), [1, 0, -1, 0, 1, -1])

    def test_long_only(self):
        p = [0.6, 0.5, 0.4, 0.5, 0.56]
        self.assertEqual(trading.positions(p, 0.55, sides="long"), [1, 1, 0, 0, 1])

    def test_baselines_ride_along(self):
        e = trading.evaluate([0.5, 0.5], [0.01, 0.01], 0.55, 10.0, BAR_MS)
        self.assertEqual(e["model"]["trades"], 0)
        self.assertEqual(e["always_long"]["trades"], 1)
        self.assertEqual(e["no_trade"]["total_return"], 0.0)
        self.assertAlmostEqual(e["always_long"]["total_return"], (0.999 * 1.01 * 1.01) * 0.999 - 1, places=6)


if __name__ == "__main__":
    unittest.main()
