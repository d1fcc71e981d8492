//! Mutation tests of every input reader on the stable toolchain: seeded byte-level mutations of
//! real data (the same targets `tests/fuzz` runs under libFuzzer), zero panics and broken
//! promises allowed, every outcome counted by the reader's own reason.
//!
//! `cargo test mutation` runs the CI count per target; `TICKRAIL_BATTERY=full` runs 100× more.
//! A failing case is written to `target/mutation-failures/<target>-<case>.bin`; feed it back with
//! `tickrail_tests::fuzz::run` (or the fuzz target of the same name) to reproduce it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::json;
use tickrail_tests::battery;
use tickrail_tests::fuzz::mutate::Mutator;
use tickrail_tests::fuzz::seeds::{seeds, write_corpus};
use tickrail_tests::fuzz::{run, Outcome, Target};

/// Mutated cases per target in CI (debug build); the full battery runs 100× as many.
fn ci_cases(t: Target) -> u64 {
    match t {
        Target::Message | Target::Snapshot => 20_000,
        Target::Config | Target::EngineCandlesCsv => 4_000,
        Target::Model => 400,
        Target::ModelEdits => 400,
        Target::CandlesFeather => 600,
        Target::Journal | Target::JournalSealed => 1_200,
        Target::CandlesCsv | Target::CandlesJson => 1_200,
        _ => 1_500,
    }
}

/// What one target did with its cases.
#[derive(Debug, Default)]
struct Tally {
    cases: u64,
    accepted: u64,
    seeds_accepted: u64,
    flagged: BTreeMap<&'static str, u64>,
    rejected: BTreeMap<&'static str, u64>,
    failures: Vec<String>,
    secs: f64,
}

thread_local! {
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Panics inside a case are recorded, not printed: the test lists them once at the end.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = format!("{msg}{at}"));
        }))
    });
}

fn run_target(t: Target, cases: u64) -> Option<Tally> {
    let seeds = seeds(t);
    if seeds.is_empty() {
        eprintln!(
            "mutation {}: skipped: no seeds (../shared/data is not beside the checkout)",
            t.name()
        );
        return None;
    }
    let mut tally = Tally::default();
    let mut m = Mutator::new(0x6d75_7461 ^ t as u64);
    let started = Instant::now();
    let total = seeds.len() as u64 + cases;
    for case in 0..total {
        let data = match seeds.get(case as usize) {
            Some(s) => s.clone(),
            None => m.mutate(&seeds),
        };
        tally.cases += 1;
        match catch_unwind(AssertUnwindSafe(|| run(t, &data))) {
            Ok(Outcome::Accepted) => {
                tally.accepted += 1;
                tally.seeds_accepted += u64::from(case < seeds.len() as u64);
            }
            Ok(Outcome::Flagged(why)) => {
                tally.accepted += 1;
                tally.seeds_accepted += u64::from(case < seeds.len() as u64);
                *tally.flagged.entry(why).or_default() += 1;
            }
            Ok(Outcome::Rejected(why)) => *tally.rejected.entry(why).or_default() += 1,
            Err(_) => {
                let msg = LAST_PANIC.with(|p| p.borrow().clone());
                let dir = tickrail_tests::workspace().join("target/mutation-failures");
                let file = dir.join(format!("{}-{case}.bin", t.name()));
                let _ = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, &data));
                tally.failures.push(format!(
                    "{} case {case} ({}): {msg}",
                    t.name(),
                    file.display()
                ));
            }
        }
    }
    tally.secs = started.elapsed().as_secs_f64();
    Some(tally)
}

#[test]
fn mutation_every_reader_survives_and_counts_rejections() {
    quiet_panics();
    // `TICKRAIL_MUTATION_TARGETS=model,config` narrows the run (to reproduce or iterate).
    let only = std::env::var("TICKRAIL_MUTATION_TARGETS").unwrap_or_default();
    let mut targets = Target::ALL.to_vec();
    targets.retain(|t| only.is_empty() || only.split(',').any(|n| n == t.name()));
    let queue = Mutex::new(targets);
    let results = Mutex::new(BTreeMap::new());
    // Two workers (the machine has two cores); each takes the next target.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(t) = queue.lock().unwrap().pop() else { break };
                let cases = battery::scale(ci_cases(t), 100 * ci_cases(t));
                if let Some(tally) = run_target(t, cases) {
                    results.lock().unwrap().insert(t, tally);
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    let mut figure = serde_json::Map::new();
    let mut failures = Vec::new();
    for (t, r) in &results {
        let rejected: u64 = r.rejected.values().sum();
        println!(
            "{:<20} {:>7} cases {:>6} accepted {:>7} rejected {:>3} failed  {:>6.1} s  rejected {:?} flagged {:?}",
            t.name(),
            r.cases,
            r.accepted,
            rejected,
            r.failures.len(),
            r.secs,
            r.rejected,
            r.flagged
        );
        figure.insert(
            t.name().into(),
            json!({
                "cases": r.cases,
                "accepted": r.accepted,
                "accepted_flagged": r.flagged,
                "rejected": rejected,
                "rejected_by_reason": r.rejected,
                "panics": r.failures.len(),
                "secs": (r.secs * 10.0).round() / 10.0,
            }),
        );
        failures.extend(r.failures.iter().cloned());
    }
    battery::figure("mutation", &serde_json::Value::Object(figure));
    for f in failures.iter().take(20) {
        eprintln!("FAILED {f}");
    }
    assert!(failures.is_empty(), "{} mutated inputs panicked or broke a promise", failures.len());
    for (t, r) in &results {
        assert!(
            r.seeds_accepted > 0,
            "{}: no real seed was accepted: the target tests nothing deep",
            t.name()
        );
    }
}

/// Writes the seed corpora for `tests/fuzz` (`tests/fuzz/run.sh` runs this with
/// `TICKRAIL_FUZZ_CORPUS` set to its corpus directory).
#[test]
#[ignore = "writes the fuzz seed corpora; run by tests/fuzz/run.sh"]
fn mutation_seed_corpus_export() {
    let dir =
        std::env::var_os("TICKRAIL_FUZZ_CORPUS").expect("TICKRAIL_FUZZ_CORPUS names a directory");
    for (t, n) in write_corpus(std::path::Path::new(&dir)).expect("corpus written") {
        println!("corpus {:<20} {n} seeds", t.name());
    }
}
