"""Purged, embargoed walk-forward windows: no training label reaches into its test window, the
embargo bars after every earlier window are left out, and nothing else is."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import walkforward  # noqa: E402

BAR = 300_000


def times(n, gaps=()):
    """n bar open times, with the bars listed in `gaps` missing."""
    return [i * BAR for i in range(n + len(gaps)) if i not in set(gaps)][:n]


class Windows(unittest.TestCase):
    def check(self, t, folds, frac, horizon, embargo):
        splits = walkforward.windows(t, folds, frac, horizon, embargo, BAR)
        self.assertEqual(len(splits), folds)
        tests = [te for _, te in splits]
        # Test windows: contiguous, in order, disjoint, the last one running to the end.
        self.assertEqual(tests[-1][-1], len(t) - 1)
        for a, b in zip(tests, tests[1:]):
            self.assertEqual(a[-1] + 1, b[0])
        for k, (train, test) in enumerate(splits):
            lo, hi = t[test[0]], t[test[-1]]
            earlier = [(t[te[-1]], t[te[-1]] + embargo * BAR) for te in tests[:k]]
            for i in train:
                # The label window [t, t + horizon] ends before the test window starts.
                self.assertLess(t[i] + horizon * BAR, lo)
                self.assertFalse(t[i] + horizon * BAR >= lo and t[i] <= hi)
                self.assertFalse(any(a < t[i] <= e for a, e in earlier), f"fold {k + 1}: row {i} is embargoed")
            # Every row that is neither purged nor embargoed is trained on.
            expected = [i for i in range(test[0])
                        if t[i] + horizon * BAR < lo and not any(a < t[i] <= e for a, e in earlier)]
            self.assertEqual(list(train), expected)
        return splits

    def test_purge_only(self):
        t = times(1000)
        splits = self.check(t, folds=4, frac=0.1, horizon=12, embargo=0)
        train, test = splits[0]
        # Rows 0..599 precede the first window (600); the 12 nearest it (588..599, whose labels read
        # close[600] or later) are purged.
        self.assertEqual((test[0], len(train), train[-1]), (600, 588, 587))
        self.assertEqual(len(splits[-1][0]), 900 - 12)

    def test_embargo_after_every_earlier_window(self):
        t = times(1000)
        splits = self.check(t, folds=4, frac=0.1, horizon=12, embargo=5)
        # Fold 4 trains on everything before 900 less its purge (12 rows) and 5 rows after each of
        # the three earlier windows (ending at rows 699, 799, 899 — the last is inside the purge).
        train = splits[3][0]
        self.assertNotIn(700, train)
        self.assertNotIn(704, train)
        self.assertIn(705, train)
        self.assertNotIn(800, train)
        self.assertIn(805, train)
        self.assertEqual(len(train), 900 - 12 - 5 - 5)
        # Fold 1 has no earlier window: the embargo takes nothing from it.
        self.assertEqual(len(splits[0][0]), 600 - 12)

    def test_measured_in_time_across_missing_bars(self):
        t = times(1000, gaps=range(595, 600))  # five missing bars just before the first window
        self.check(t, folds=3, frac=0.1, horizon=12, embargo=7)

    def test_too_little_to_train_on_is_an_error(self):
        with self.assertRaises(walkforward.SplitError):
            walkforward.windows(times(100), 6, 0.2, 12, 0, BAR)


if __name__ == "__main__":
    unittest.main()
