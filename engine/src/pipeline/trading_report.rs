//! The trading part of a report (orders, fills, risk, PnL), the same for a live run and a
//! backtest, and the backtest's own report.

use serde_json::{json, Map, Value};

use crate::backtest::BacktestOutcome;
use crate::money::Money;
use crate::pipeline::trader::Trader;
use crate::reject::RejectCounts;
use crate::risk::RiskRule;
use crate::strategy::Strategy;

/// Money in reports: a JSON number rounded to 1e-8 (exact values live in the journal).
fn num(m: Money) -> Value {
    let v = (m.to_f64() * 1e8).round() / 1e8;
    json!(v)
}

/// Top-level report keys: `orders`, `fills`, `risk` (`state`, `approved`, `refused` rule →
/// count), `pnl` (`realized`, `unrealized`, `net`), `fees`, `equity`, `equity_peak`,
/// `max_drawdown`, `positions`.
pub fn trading_sections<S: Strategy>(t: &Trader<S>, symbols: &[String]) -> Map<String, Value> {
    let st = t.stats();
    let acc = t.paper.account();
    let mut refused = Map::new();
    for (rule, n) in RiskRule::ALL.iter().zip(t.risk.refused()) {
        if *n > 0 {
            refused.insert(rule.name().to_string(), json!(n));
        }
    }
    let positions: Map<String, Value> = acc
        .positions()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let name = symbols.get(i).cloned().unwrap_or_else(|| format!("symbol_{i}"));
            let qty = p.qty as f64 / 1e8;
            (name, json!({ "qty": qty, "avg_px": p.avg_px() as f64 / 1e8, "unrealized": num(p.unrealized()) }))
        })
        .collect();
    let mut m = Map::new();
    m.insert("orders".into(), json!(st.orders));
    m.insert("fills".into(), json!(st.fills));
    m.insert(
        "risk".into(),
        json!({
            "state": t.risk.state().name(),
            "approved": t.risk.approved(),
            "refused": refused,
            "cancelled": st.cancelled,
            "transitions": st.transitions,
        }),
    );
    let (realized, unrealized, fees) = (acc.realized(), acc.unrealized(), acc.fees());
    m.insert(
        "pnl".into(),
        json!({ "realized": num(realized), "unrealized": num(unrealized), "net": num(realized + unrealized - fees) }),
    );
    m.insert("fees".into(), num(fees));
    m.insert("equity".into(), num(acc.equity()));
    m.insert("equity_peak".into(), num(t.equity_peak()));
    m.insert("max_drawdown".into(), num(t.max_drawdown()));
    m.insert("positions".into(), Value::Object(positions));
    m
}

/// The backtest report: deterministic (no wall-clock time, no latency), so the same input gives
/// the same bytes.
pub fn backtest_report<S: Strategy>(
    t: &Trader<S>,
    out: &BacktestOutcome,
    strategy: &str,
    symbols: &[String],
    inputs: Vec<String>,
) -> Value {
    let f = &out.feed;
    let mut m = Map::new();
    m.insert("engine_version".into(), json!(env!("CARGO_PKG_VERSION")));
    m.insert("mode".into(), json!("backtest"));
    m.insert("inputs".into(), json!(inputs));
    m.insert("strategy".into(), json!({ "name": strategy, "faults": out.strategy_faults }));
    m.insert(
        "ticks".into(),
        json!({
            "received": f.received,
            "processed": out.ticks,
            "rejected": rejects(&f.rejected),
        }),
    );
    m.extend(trading_sections(t, symbols));
    m.insert("backtest".into(), serde_json::to_value(&out.summary).unwrap_or(Value::Null));
    m.insert(
        "conventions".into(),
        json!({
            "trade": "a fill that closes (part of) a position; its PnL is the PnL it realizes, before fees",
            "sharpe": "mean / population std of simple equity returns per sample period, x sqrt(periods per 365-day year), no risk-free rate",
            "sortino": "mean / downside deviation (sqrt of mean of min(r,0)^2), annualised the same way",
            "max_drawdown": "largest fall of equity from its running peak, every tick",
            "clock": "exchange time of the data (trading clock), never the wall clock",
        }),
    );
    Value::Object(m)
}

fn rejects(r: &RejectCounts) -> Value {
    let mut m = Map::new();
    for (name, n) in r.iter_nonzero() {
        m.insert(name.to_string(), json!(n));
    }
    Value::Object(m)
}

/// A short text summary of a backtest report for the terminal.
pub fn render_backtest(rep: &Value) -> String {
    let g = |path: &[&str]| {
        let mut v = rep;
        for p in path {
            v = &v[*p];
        }
        match v {
            Value::Null => "-".to_string(),
            Value::Number(n) if n.is_f64() => format!("{:.4}", n.as_f64().unwrap_or(f64::NAN)),
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    };
    let mut s = String::new();
    let rows: [(&str, &[&str]); 14] = [
        ("ticks", &["ticks", "processed"]),
        ("orders", &["orders"]),
        ("fills", &["fills"]),
        ("trades", &["backtest", "trades"]),
        ("win rate", &["backtest", "win_rate"]),
        ("profit factor", &["backtest", "profit_factor"]),
        ("sharpe (ann.)", &["backtest", "sharpe"]),
        ("sortino (ann.)", &["backtest", "sortino"]),
        ("max drawdown", &["max_drawdown"]),
        ("exposure", &["backtest", "exposure"]),
        ("realized pnl", &["pnl", "realized"]),
        ("net pnl", &["pnl", "net"]),
        ("fees", &["fees"]),
        ("risk state", &["risk", "state"]),
    ];
    for (label, path) in rows {
        s.push_str(&format!("{label:>16}  {}\n", g(path)));
    }
    s
}
