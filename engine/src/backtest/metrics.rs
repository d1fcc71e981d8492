//! Backtest performance figures: trades, win rate, profit factor, Sharpe and Sortino, drawdown,
//! exposure, PnL and fees, plus the equity curve they are computed from.
//!
//! Conventions (stated in the report too):
//! - A **trade** is a fill that closes (part of) a position; its PnL is the PnL it realizes,
//!   before fees. Win rate = winning trades / trades; profit factor = gross wins / gross losses.
//! - The **equity curve** is sampled on the trading clock at a fixed period (`sample_ns`): the
//!   equity at the last tick of each period. Returns are simple returns between samples.
//! - **Sharpe** = mean / standard deviation (population) of period returns × √(periods per
//!   year); **Sortino** = mean / downside deviation (√ mean of min(r, 0)²) × √(periods per year).
//!   Crypto trades around the clock: a year is 365 days. No risk-free rate.
//! - **Max drawdown**: largest fall from a running equity peak, in quote units and as a fraction
//!   of that peak, over every tick (not only samples).
//! - **Exposure**: the fraction of samples with a non-zero position in any symbol.

use serde::Serialize;

use crate::money::Money;
use crate::paper::FillReport;

const YEAR_NS: f64 = 365.0 * 86_400e9;

/// Accumulates a backtest's figures as ticks and fills go by.
#[derive(Debug, Clone)]
pub struct Metrics {
    sample_ns: i64,
    next_sample: i64,
    last_ts: i64,
    last_equity: Money,
    last_exposed: bool,
    exposed_samples: u64,
    curve: Vec<(i64, f64)>,
    trades: u64,
    wins: u64,
    gross_win: Money,
    gross_loss: Money,
    peak: Money,
    max_dd: Money,
    max_dd_frac: f64,
}

/// The figures, as the report shows them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Closing fills.
    pub trades: u64,
    /// Winning share of them.
    pub win_rate: f64,
    /// Gross wins / gross losses (`null` without losses).
    pub profit_factor: Option<f64>,
    /// Annualised Sharpe ratio of sampled returns.
    pub sharpe: f64,
    /// Annualised Sortino ratio of sampled returns.
    pub sortino: f64,
    /// Largest fall from a peak, quote units.
    pub max_drawdown: f64,
    /// The same as a fraction of the peak.
    pub max_drawdown_frac: f64,
    /// Share of samples with an open position.
    pub exposure: f64,
    /// Equity samples taken.
    pub samples: u64,
    /// Sampling period, seconds.
    pub sample_s: f64,
}

impl Metrics {
    /// Figures sampled every `sample_ns` of trading time, starting from `initial` equity.
    pub fn new(sample_ns: i64, initial: Money) -> Self {
        Self {
            sample_ns: sample_ns.max(1),
            next_sample: i64::MIN,
            last_ts: 0,
            last_equity: initial,
            last_exposed: false,
            exposed_samples: 0,
            curve: Vec::new(),
            trades: 0,
            wins: 0,
            gross_win: Money::ZERO,
            gross_loss: Money::ZERO,
            peak: initial,
            max_dd: Money::ZERO,
            max_dd_frac: 0.0,
        }
    }

    /// After each tick: the trading clock, equity, and whether any position is open. Ticks
    /// before the clock has started (no exchange time seen yet: `ts_ns <= 0`) only move the
    /// drawdown.
    #[inline(always)]
    pub fn on_tick(&mut self, ts_ns: i64, equity: Money, exposed: bool) {
        // Most ticks: the clock has started and no sample is due.
        if ts_ns > 0 && ts_ns < self.next_sample {
            self.last_ts = ts_ns;
            self.last_equity = equity;
            self.last_exposed = exposed;
            self.track(equity);
            return;
        }
        self.on_tick_sampling(ts_ns, equity, exposed);
    }

    /// [`on_tick`](Self::on_tick) when the clock starts or a sample is due.
    #[inline(never)]
    fn on_tick_sampling(&mut self, ts_ns: i64, equity: Money, exposed: bool) {
        if ts_ns <= 0 {
            self.last_equity = equity;
            self.last_exposed = exposed;
            self.track(equity);
            return;
        }
        if self.next_sample == i64::MIN {
            self.next_sample = ts_ns - ts_ns.rem_euclid(self.sample_ns) + self.sample_ns;
            self.curve.push((ts_ns, self.last_equity.to_f64()));
        }
        while ts_ns >= self.next_sample {
            // The period that just ended closes at the last equity seen in it.
            self.sample(self.next_sample);
            self.next_sample += self.sample_ns;
        }
        self.last_ts = ts_ns;
        self.last_equity = equity;
        self.last_exposed = exposed;
        self.track(equity);
    }

    #[inline]
    fn track(&mut self, equity: Money) {
        if equity > self.peak {
            self.peak = equity;
        }
        let dd = self.peak - equity;
        if dd > self.max_dd {
            self.max_dd = dd;
            if self.peak.0 > 0 {
                self.max_dd_frac = dd.to_f64() / self.peak.to_f64();
            }
        }
    }

    fn sample(&mut self, ts: i64) {
        self.curve.push((ts, self.last_equity.to_f64()));
        self.exposed_samples += u64::from(self.last_exposed);
    }

    /// A fill: closing fills are trades.
    pub fn on_fill(&mut self, f: &FillReport) {
        if !f.effect.closed {
            return;
        }
        self.trades += 1;
        let pnl = f.effect.realized;
        if pnl > Money::ZERO {
            self.wins += 1;
            self.gross_win += pnl;
        } else {
            self.gross_loss -= pnl;
        }
    }

    /// Ends the run: the last (partial) period is sampled at the last tick.
    pub fn finish(mut self) -> (Summary, Vec<(i64, f64)>) {
        if self.next_sample != i64::MIN {
            let last = self.last_ts;
            self.sample(last);
        }
        let returns: Vec<f64> = self
            .curve
            .windows(2)
            .filter(|w| w[0].1 != 0.0)
            .map(|w| w[1].1 / w[0].1 - 1.0)
            .collect();
        let periods_per_year = YEAR_NS / self.sample_ns as f64;
        let n = returns.len().max(1) as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
        let down = (returns.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / n).sqrt();
        let ann = periods_per_year.sqrt();
        let ratio = |num: f64, den: f64| if den > 0.0 { num / den * ann } else { 0.0 };
        let samples = self.curve.len().saturating_sub(1) as u64;
        let summary = Summary {
            trades: self.trades,
            win_rate: if self.trades > 0 { self.wins as f64 / self.trades as f64 } else { 0.0 },
            profit_factor: (self.gross_loss > Money::ZERO)
                .then(|| self.gross_win.to_f64() / self.gross_loss.to_f64()),
            sharpe: ratio(mean, var.sqrt()),
            sortino: ratio(mean, down),
            max_drawdown: self.max_dd.to_f64(),
            max_drawdown_frac: self.max_dd_frac,
            exposure: if samples > 0 { self.exposed_samples as f64 / samples as f64 } else { 0.0 },
            samples,
            sample_s: self.sample_ns as f64 / 1e9,
        };
        (summary, self.curve)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paper::FillEffect;
    use tickrail_abi::Fill;

    fn close(pnl: i64) -> FillReport {
        FillReport {
            fill: Fill::default(),
            order_id: 1,
            order_tick_seq: 0,
            effect: FillEffect {
                realized: Money::from_units(pnl),
                closed: true,
                position_after: 0,
            },
            realized_after: Money::ZERO,
        }
    }

    #[test]
    fn trades_win_rate_and_profit_factor_by_hand() {
        let mut m = Metrics::new(1_000, Money::from_units(100));
        for p in [10, -5, 20, -5] {
            m.on_fill(&close(p));
        }
        let (s, _) = m.finish();
        assert_eq!((s.trades, s.win_rate), (4, 0.5));
        assert_eq!(s.profit_factor, Some(3.0));
    }

    #[test]
    fn drawdown_and_sampling_by_hand() {
        let mut m = Metrics::new(10, Money::from_units(100));
        // Equity 100 → 120 → 90 → 110, one value per period.
        for (t, e, x) in [(5, 100, false), (15, 120, true), (25, 90, true), (35, 110, false)] {
            m.on_tick(t, Money::from_units(e), x);
        }
        let (s, curve) = m.finish();
        assert_eq!(s.max_drawdown, 30.0);
        assert!((s.max_drawdown_frac - 0.25).abs() < 1e-12);
        let eq: Vec<f64> = curve.iter().map(|c| c.1).collect();
        assert_eq!(eq, vec![100.0, 100.0, 120.0, 90.0, 110.0]);
        assert_eq!(s.samples, 4);
        assert_eq!(s.exposure, 0.5);
        // Returns: 0, +20 %, −25 %, +22.2 %: positive mean, Sortino above Sharpe.
        assert!(s.sharpe > 0.0 && s.sortino > s.sharpe);
    }

    #[test]
    fn no_trades_no_nan() {
        let (s, _) = Metrics::new(10, Money::from_units(1)).finish();
        assert_eq!((s.trades, s.win_rate, s.profit_factor, s.sharpe), (0, 0.0, None, 0.0));
    }
}
