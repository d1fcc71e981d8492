//! The registry: every metric family the engine exports, with the handles that feed it.
//!
//! Families are registered once at setup (`&mut Registry`), each returning the handle(s) the
//! engine threads update; the registry keeps a clone of every handle and is then shared
//! read-only (`Arc<Registry>`) with the ops server, which renders it on every scrape
//! ([`Registry::render`]). Registration checks what Prometheus would reject or misread:
//! metric and label names, duplicates (including a summary's `_sum`/`_count`), counters that do
//! not end in `_total` and non-counters that do, duplicate label values, quantiles outside
//! `0..=1`.
//!
//! Some families are computed when rendered rather than stored: a state set over an
//! [`IntGauge`] ([`Registry::state_info`]), the difference of two gauges
//! ([`Registry::difference`]), an age ([`Registry::age`]), an uptime, and the process's memory,
//! file descriptors and threads read from `/proc/self` ([`Registry::process_metrics`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use super::exposition;
use super::metrics::{
    Counter, CounterVec, Gauge, GaugeVec, Info, InfoCell, IntGauge, IntGaugeVec, Labelled, Summary,
    SummaryVec, Timestamp,
};

/// A family could not be registered. Names the family and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Not `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("metric name {name:?} is not valid: expected [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidName {
        /// The name.
        name: String,
    },
    /// Not `[a-zA-Z_][a-zA-Z0-9_]*`, starts with `__`, or is reserved (`quantile`, `le`).
    #[error("metric {name}: label name {label:?} is not valid (or is reserved)")]
    InvalidLabel {
        /// The metric.
        name: String,
        /// The label name.
        label: String,
    },
    /// The name (or a series name derived from it) is already registered.
    #[error("metric {name} is registered twice")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// Counter names end in `_total`.
    #[error("counter {name} must end in _total")]
    CounterSuffix {
        /// The name.
        name: String,
    },
    /// Only counters end in `_total`.
    #[error("{name} is not a counter and must not end in _total")]
    NotACounter {
        /// The name.
        name: String,
    },
    /// Label values must be distinct and there must be at least one.
    #[error("metric {name}: label values must be distinct and non-empty (problem: {value:?})")]
    LabelValues {
        /// The metric.
        name: String,
        /// The repeated value, or empty when none were given.
        value: String,
    },
    /// Quantiles are in `0..=1`.
    #[error("summary {name}: quantile {q} is outside 0..=1")]
    Quantile {
        /// The summary.
        name: String,
        /// The quantile.
        q: String,
    },
}

/// The Prometheus type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Counter,
    Gauge,
    Summary,
}

impl Kind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Summary => "summary",
        }
    }
}

/// A process figure read from `/proc/self` at render time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ProcField {
    ResidentBytes,
    OpenFds,
    Threads,
}

/// Where one series' value comes from when rendered.
#[derive(Debug)]
pub(super) enum Source {
    Counter(Counter),
    Gauge(Gauge),
    IntGauge(IntGauge),
    /// 1 when the gauge holds this value; no sample otherwise.
    StateIs(IntGauge, i64),
    /// Value 1 with these label names and the cell's current values; no sample when unset.
    Info(Vec<String>, InfoCell),
    /// Seconds since the timestamp; no sample before the first touch.
    Age(Timestamp),
    /// Seconds since this instant.
    Since(Instant),
    /// `a - b`.
    Difference(IntGauge, IntGauge),
    Summary(Summary),
    Process(ProcField),
}

/// One series: fixed labels and where its value comes from.
#[derive(Debug)]
pub(super) struct Series {
    pub labels: Vec<(String, String)>,
    pub source: Source,
}

/// One metric family.
#[derive(Debug)]
pub(super) struct Family {
    pub name: String,
    pub help: String,
    pub kind: Kind,
    pub series: Vec<Series>,
}

/// Every family, in registration order. See the module docs.
#[derive(Debug, Default)]
pub struct Registry {
    families: Vec<Family>,
    taken: BTreeSet<String>,
}

fn name_ok(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == ':')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
}

fn label_ok(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        && !s.starts_with("__")
        && s != "quantile"
        && s != "le"
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names of every family, in registration order.
    pub fn names(&self) -> Vec<&str> {
        self.families.iter().map(|f| f.name.as_str()).collect()
    }

    /// The whole registry in Prometheus text exposition format 0.0.4. Allocates: call it from
    /// the ops server, never from the hot thread.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        exposition::render(&self.families, &mut out);
        out
    }

    fn check(&self, name: &str, kind: Kind) -> Result<(), RegistryError> {
        let err = |f: fn(String) -> RegistryError| Err(f(name.to_string()));
        if !name_ok(name) {
            return err(|name| RegistryError::InvalidName { name });
        }
        match (kind, name.ends_with("_total")) {
            (Kind::Counter, false) => return err(|name| RegistryError::CounterSuffix { name }),
            (Kind::Gauge | Kind::Summary, true) => {
                return err(|name| RegistryError::NotACounter { name })
            }
            _ => {}
        }
        let derived = match kind {
            Kind::Summary => vec![name.to_string(), format!("{name}_sum"), format!("{name}_count")],
            _ => vec![name.to_string()],
        };
        if derived.iter().any(|n| self.taken.contains(n)) {
            return err(|name| RegistryError::Duplicate { name });
        }
        Ok(())
    }

    fn check_labels(name: &str, label: &str, values: &[&str]) -> Result<(), RegistryError> {
        if !label_ok(label) {
            return Err(RegistryError::InvalidLabel {
                name: name.to_string(),
                label: label.to_string(),
            });
        }
        if values.is_empty() {
            return Err(RegistryError::LabelValues {
                name: name.to_string(),
                value: String::new(),
            });
        }
        let mut seen = BTreeSet::new();
        for v in values {
            if !seen.insert(*v) {
                return Err(RegistryError::LabelValues {
                    name: name.to_string(),
                    value: v.to_string(),
                });
            }
        }
        Ok(())
    }

    fn push(&mut self, name: &str, help: &str, kind: Kind, series: Vec<Series>) {
        self.taken.insert(name.to_string());
        if kind == Kind::Summary {
            self.taken.insert(format!("{name}_sum"));
            self.taken.insert(format!("{name}_count"));
        }
        self.families.push(Family { name: name.to_string(), help: help.to_string(), kind, series });
    }

    fn single(
        &mut self,
        name: &str,
        help: &str,
        kind: Kind,
        source: Source,
    ) -> Result<(), RegistryError> {
        self.check(name, kind)?;
        self.push(name, help, kind, vec![Series { labels: Vec::new(), source }]);
        Ok(())
    }

    fn labelled<H: Clone>(
        &mut self,
        name: &str,
        help: &str,
        kind: Kind,
        label: &str,
        values: &[&str],
        make: impl Fn() -> (H, Source),
    ) -> Result<Labelled<H>, RegistryError> {
        self.check(name, kind)?;
        Self::check_labels(name, label, values)?;
        let mut handles = Vec::with_capacity(values.len());
        let mut series = Vec::with_capacity(values.len());
        for v in values {
            let (h, source) = make();
            handles.push(h);
            series.push(Series { labels: vec![(label.to_string(), v.to_string())], source });
        }
        self.push(name, help, kind, series);
        Ok(Labelled::new(handles))
    }

    /// A counter (`name` ends in `_total`).
    pub fn counter(&mut self, name: &str, help: &str) -> Result<Counter, RegistryError> {
        let c = Counter::new();
        self.single(name, help, Kind::Counter, Source::Counter(c.clone()))?;
        Ok(c)
    }

    /// One counter per value of `label`.
    pub fn counter_vec(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: &[&str],
    ) -> Result<CounterVec, RegistryError> {
        self.labelled(name, help, Kind::Counter, label, values, || {
            let c = Counter::new();
            (c.clone(), Source::Counter(c))
        })
    }

    /// An `f64` gauge.
    pub fn gauge(&mut self, name: &str, help: &str) -> Result<Gauge, RegistryError> {
        let g = Gauge::new();
        self.single(name, help, Kind::Gauge, Source::Gauge(g.clone()))?;
        Ok(g)
    }

    /// One `f64` gauge per value of `label`.
    pub fn gauge_vec(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: &[&str],
    ) -> Result<GaugeVec, RegistryError> {
        self.labelled(name, help, Kind::Gauge, label, values, || {
            let g = Gauge::new();
            (g.clone(), Source::Gauge(g))
        })
    }

    /// An `i64` gauge.
    pub fn int_gauge(&mut self, name: &str, help: &str) -> Result<IntGauge, RegistryError> {
        let g = IntGauge::new();
        self.single(name, help, Kind::Gauge, Source::IntGauge(g.clone()))?;
        Ok(g)
    }

    /// One `i64` gauge per value of `label`.
    pub fn int_gauge_vec(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: &[&str],
    ) -> Result<IntGaugeVec, RegistryError> {
        self.labelled(name, help, Kind::Gauge, label, values, || {
            let g = IntGauge::new();
            (g.clone(), Source::IntGauge(g))
        })
    }

    /// One summary per value of `label`, each reporting `quantiles`.
    pub fn summary_vec(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: &[&str],
        quantiles: &[f64],
    ) -> Result<SummaryVec, RegistryError> {
        if let Some(q) = quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(RegistryError::Quantile { name: name.to_string(), q: q.to_string() });
        }
        let qs: Arc<[f64]> = quantiles.into();
        self.labelled(name, help, Kind::Summary, label, values, || {
            let s = Summary::new(qs.clone());
            (s.clone(), Source::Summary(s))
        })
    }

    /// An info gauge: one series of value 1 whose labels `labels` carry the values set later
    /// through the returned handle.
    pub fn info<const N: usize>(
        &mut self,
        name: &str,
        help: &str,
        labels: [&str; N],
    ) -> Result<Info<N>, RegistryError> {
        self.check(name, Kind::Gauge)?;
        if let Some(bad) = labels
            .iter()
            .enumerate()
            .find_map(|(i, l)| (!label_ok(l) || labels[..i].contains(l)).then_some(*l))
        {
            return Err(RegistryError::InvalidLabel {
                name: name.to_string(),
                label: bad.to_string(),
            });
        }
        let cell = InfoCell::default();
        let names = labels.iter().map(|l| l.to_string()).collect();
        let series = vec![Series { labels: Vec::new(), source: Source::Info(names, cell.clone()) }];
        self.push(name, help, Kind::Gauge, series);
        Ok(Info::new(cell))
    }

    /// A state set over `of`: the series `name{label="states[i]"} 1` for the `i` that `of`
    /// currently holds, and nothing when it holds no listed state.
    pub fn state_info(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        states: &[&str],
        of: &IntGauge,
    ) -> Result<(), RegistryError> {
        self.check(name, Kind::Gauge)?;
        Self::check_labels(name, label, states)?;
        let series = states
            .iter()
            .enumerate()
            .map(|(i, s)| Series {
                labels: vec![(label.to_string(), s.to_string())],
                source: Source::StateIs(of.clone(), i as i64),
            })
            .collect();
        self.push(name, help, Kind::Gauge, series);
        Ok(())
    }

    /// A gauge computed as `minuend - subtrahend` when rendered.
    pub fn difference(
        &mut self,
        name: &str,
        help: &str,
        minuend: &IntGauge,
        subtrahend: &IntGauge,
    ) -> Result<(), RegistryError> {
        let source = Source::Difference(minuend.clone(), subtrahend.clone());
        self.single(name, help, Kind::Gauge, source)
    }

    /// A gauge of the seconds since the returned [`Timestamp`] was last touched; no sample
    /// before the first touch.
    pub fn age(&mut self, name: &str, help: &str) -> Result<Timestamp, RegistryError> {
        let t = Timestamp::new();
        self.single(name, help, Kind::Gauge, Source::Age(t.clone()))?;
        Ok(t)
    }

    /// A gauge of the seconds since `since`.
    pub fn uptime(&mut self, name: &str, help: &str, since: Instant) -> Result<(), RegistryError> {
        self.single(name, help, Kind::Gauge, Source::Since(since))
    }

    /// `<prefix>_process_resident_memory_bytes`, `<prefix>_process_open_fds` and
    /// `<prefix>_process_threads`, read from `/proc/self` when rendered (Linux; no samples
    /// elsewhere).
    pub fn process_metrics(&mut self, prefix: &str) -> Result<(), RegistryError> {
        let fields = [
            (
                "process_resident_memory_bytes",
                "Resident set size of the process.",
                ProcField::ResidentBytes,
            ),
            ("process_open_fds", "Open file descriptors of the process.", ProcField::OpenFds),
            ("process_threads", "Threads of the process.", ProcField::Threads),
        ];
        for (suffix, help, f) in fields {
            self.single(&format!("{prefix}_{suffix}"), help, Kind::Gauge, Source::Process(f))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_suffixes_are_checked() {
        let mut r = Registry::new();
        assert!(r.counter("a_total", "").is_ok());
        assert_eq!(
            r.counter("a_total", "").err(),
            Some(RegistryError::Duplicate { name: "a_total".into() })
        );
        assert_eq!(
            r.counter("b", "").err(),
            Some(RegistryError::CounterSuffix { name: "b".into() })
        );
        assert_eq!(
            r.gauge("c_total", "").err(),
            Some(RegistryError::NotACounter { name: "c_total".into() })
        );
        assert_eq!(r.gauge("9x", "").err(), Some(RegistryError::InvalidName { name: "9x".into() }));
        assert_eq!(
            r.gauge("a-b", "").err(),
            Some(RegistryError::InvalidName { name: "a-b".into() })
        );
        assert!(r.gauge("ns:x_y", "").is_ok());
        // A summary claims its _sum and _count series.
        assert!(r.gauge("lat_sum", "").is_ok());
        assert_eq!(
            r.summary_vec("lat", "", "stage", &["a"], &[0.5]).err(),
            Some(RegistryError::Duplicate { name: "lat".into() })
        );
        assert!(r.summary_vec("lat2", "", "stage", &["a"], &[0.5]).is_ok());
        assert!(r.gauge("lat2_count", "").is_err());
        assert_eq!(r.names(), ["a_total", "ns:x_y", "lat_sum", "lat2"]);
    }

    #[test]
    fn labels_are_checked() {
        let mut r = Registry::new();
        for bad in ["quantile", "le", "__x", "1a", "a b", ""] {
            assert!(
                matches!(
                    r.counter_vec("x_total", "", bad, &["v"]),
                    Err(RegistryError::InvalidLabel { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            r.counter_vec("x_total", "", "reason", &["a", "a"]),
            Err(RegistryError::LabelValues { value, .. }) if value == "a"
        ));
        assert!(matches!(
            r.counter_vec("x_total", "", "reason", &[]),
            Err(RegistryError::LabelValues { .. })
        ));
        assert!(matches!(r.info("i", "", ["a", "a"]), Err(RegistryError::InvalidLabel { .. })));
        assert!(matches!(
            r.summary_vec("s", "", "stage", &["a"], &[1.5]),
            Err(RegistryError::Quantile { .. })
        ));
        // Nothing half-registered by the failures.
        assert!(r.names().is_empty());
        let v = r.counter_vec("x_total", "", "reason", &["a", "b"]).unwrap();
        assert_eq!(v.len(), 2);
    }
}
