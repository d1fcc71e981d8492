//! Tree-ensemble model cost: single-row latency and batch throughput of the compiled forest, side by side
//! with the naive reference walk and tract's runnable (the peer), on the 100-tree depth-6 37-feature
//! XGBoost model and the committed fixtures. Rows are the fixtures' held-out rows (real BTCUSDT
//! features, some cells missing), cycled.
//!
//! Baseline: `harness` reads the next row and nothing else. tract refuses onnxmltools' XGBoost binary
//! export (one `base_values` entry for two classes), so for tract the bench model is given two equal
//! base values: same trees, same work, outputs not compared here (`tests/tests/model.rs` does that on
//! the classifiers tract loads unmodified).
//!
//! A second pass prints hdrhistogram percentiles of single calls (`Instant` per call; the harness line
//! shows the timer's own cost).
//!
//! `cargo bench -p tickrail-benches --bench model -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tickrail_engine::model::{Model, Scratch};
use tract_onnx::prelude::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models")
}

fn rows(name: &str) -> (usize, Vec<f64>) {
    let text =
        std::fs::read_to_string(fixtures().join(format!("{name}.rows.csv"))).expect("fixture rows");
    let mut lines = text.lines();
    let nf = lines.next().expect("header").split(',').count();
    let v = lines
        .flat_map(|l| {
            l.split(',').map(|c| if c.is_empty() { f64::NAN } else { c.parse().expect("number") })
        })
        .collect();
    (nf, v)
}

type Runnable = Arc<TypedRunnableModel>;

/// tract's runnable for the ensemble alone (tract has no ZipMap); `None` if tract refuses it.
fn tract_model(name: &str, nf: usize, patch_base: bool) -> Option<Runnable> {
    let mut proto =
        tract_onnx::onnx().proto_model_for_path(fixtures().join(format!("{name}.onnx"))).ok()?;
    let graph = proto.graph.as_mut()?;
    let mut tree = graph.node.iter().find(|n| n.op_type == "TreeEnsembleClassifier")?.clone();
    if patch_base {
        for a in
            tree.attribute.iter_mut().filter(|a| a.name == "base_values" && a.floats.len() == 1)
        {
            a.floats = vec![a.floats[0]; 2];
        }
    }
    graph.output = tree
        .output
        .iter()
        .map(|o| tract_onnx::pb::ValueInfoProto { name: o.clone(), ..Default::default() })
        .collect();
    graph.node = vec![tree];
    tract_onnx::onnx()
        .model_for_proto_model(&proto)
        .ok()?
        .with_input_fact(0, f32::fact([1, nf]).into())
        .ok()?
        .into_optimized()
        .ok()?
        .into_runnable()
        .ok()
}

fn bench_model(c: &mut Criterion, name: &str, patch_base: bool) {
    let model = Model::load(fixtures().join(format!("{name}.onnx")), None).expect("fixture loads");
    let (nf, data) = rows(name);
    let n_rows = data.len() / nf;
    let mut scratch = Scratch::for_model(&model);
    let mut out = vec![0.0; model.n_outputs()];
    let mut g = c.benchmark_group(format!("model/{name}/row"));
    let mut i = 0usize;
    g.bench_function("harness", |b| {
        b.iter(|| {
            i = (i + 1) % n_rows;
            black_box(&data[i * nf..(i + 1) * nf]);
        })
    });
    g.bench_function("compiled", |b| {
        b.iter(|| {
            i = (i + 1) % n_rows;
            model.predict(black_box(&data[i * nf..(i + 1) * nf]), &mut scratch, &mut out).unwrap();
            black_box(&out);
        })
    });
    g.bench_function("naive_walk", |b| {
        b.iter(|| {
            i = (i + 1) % n_rows;
            model.predict_reference(black_box(&data[i * nf..(i + 1) * nf]), &mut out);
            black_box(&out);
        })
    });
    if let Some(tract) = tract_model(name, nf, patch_base) {
        let inputs: Vec<Tensor> = data
            .chunks_exact(nf)
            .map(|r| {
                tract_ndarray::Array2::from_shape_vec(
                    (1, nf),
                    r.iter().map(|v| *v as f32).collect(),
                )
                .expect("shape")
                .into()
            })
            .collect();
        g.bench_function("tract", |b| {
            b.iter(|| {
                i = (i + 1) % n_rows;
                black_box(tract.run(tvec!(inputs[i].clone().into())).expect("tract runs"));
            })
        });
    } else {
        eprintln!("model/{name}: tract does not load it");
    }
    g.finish();

    let mut g = c.benchmark_group(format!("model/{name}/batch"));
    g.throughput(Throughput::Elements(n_rows as u64));
    let mut batch_out = vec![0.0; n_rows * model.n_outputs()];
    g.bench_function(BenchmarkId::new("compiled", n_rows), |b| {
        b.iter(|| model.predict_batch(black_box(&data), &mut scratch, &mut batch_out).unwrap())
    });
    g.bench_function(BenchmarkId::new("naive_walk", n_rows), |b| {
        b.iter(|| {
            for (r, o) in data.chunks_exact(nf).zip(batch_out.chunks_exact_mut(model.n_outputs())) {
                model.predict_reference(black_box(r), o);
            }
        })
    });
    g.finish();
}

/// hdrhistogram percentiles of single `predict` calls on the 100×6×37 model.
fn percentiles(name: &str) {
    let model = Model::load(fixtures().join(format!("{name}.onnx")), None).expect("fixture loads");
    let (nf, data) = rows(name);
    let n_rows = data.len() / nf;
    let mut scratch = Scratch::for_model(&model);
    let mut out = vec![0.0; model.n_outputs()];
    let mut timer = hdrhistogram::Histogram::<u64>::new(3).expect("histogram");
    let mut compiled = timer.clone();
    for k in 0..200_000usize {
        let row = &data[(k % n_rows) * nf..(k % n_rows + 1) * nf];
        let t0 = Instant::now();
        black_box(row);
        let t1 = Instant::now();
        model.predict(black_box(row), &mut scratch, &mut out).unwrap();
        let t2 = Instant::now();
        black_box(&out);
        if k >= 20_000 {
            timer.record((t1 - t0).as_nanos() as u64).ok();
            compiled.record((t2 - t1).as_nanos() as u64).ok();
        }
    }
    for (label, h) in [("harness (Instant pair)", &timer), ("compiled predict", &compiled)] {
        eprintln!(
            "model/{name} {label}: p50 {} ns, p90 {} ns, p99 {} ns, p99.9 {} ns",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.9),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999)
        );
    }
}

fn benches(c: &mut Criterion) {
    percentiles("xgb_bench_100x6x37");
    bench_model(c, "xgb_bench_100x6x37", true);
    for name in [
        "xgb_multiclass",
        "lgbm_binary",
        "skl_rf_multiclass",
        "lgbm_regressor",
        "synthetic_modes_regressor",
    ] {
        bench_model(c, name, false);
    }
}

criterion_group! {
    name = model;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2)).sample_size(30);
    targets = benches
}
criterion_main!(model);
