//! Tree-ensemble models end to end: the committed ONNX fixtures (XGBoost, LightGBM, scikit-learn and
//! hand-built every-branch-mode ensembles, made by `tools/train/make_fixtures.py`) load, and predict what
//! onnxruntime and the training library predicted for the same held-out rows; tract agrees on the
//! classifiers it can run; bad files are refused with messages that say what is wrong.

use std::path::PathBuf;

use tickrail_engine::model::{check_csv, Model, ModelError, Scratch};

const TOL: f64 = 1e-6;

const FIXTURES: &[&str] = &[
    "xgb_binary",
    "xgb_multiclass",
    "xgb_regressor",
    "xgb_bench_100x6x37",
    "lgbm_binary",
    "lgbm_regressor",
    "skl_rf_multiclass",
    "skl_gb_regressor",
    "skl_et_regressor",
    "synthetic_modes_classifier",
    "synthetic_modes_regressor",
];

fn dir() -> PathBuf {
    tickrail_tests::workspace().join("tests/fixtures/models")
}

/// Header and rows of a fixture CSV (empty cell = NaN).
fn read_csv(path: &PathBuf) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines.next().expect("header").split(',').map(str::to_string).collect();
    let rows = lines
        .map(|l| {
            l.split(',')
                .map(|c| if c.is_empty() { f64::NAN } else { c.parse().expect("number") })
                .collect()
        })
        .collect();
    (header, rows)
}

fn load(name: &str) -> Model {
    let (names, _) = read_csv(&dir().join(format!("{name}.rows.csv")));
    Model::load(dir().join(format!("{name}.onnx")), Some(&names))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn parity(name: &str) {
    let model = load(name);
    let (_, rows) = read_csv(&dir().join(format!("{name}.rows.csv")));
    let mut scratch = Scratch::for_model(&model);
    let mut out = vec![0.0; model.n_outputs()];
    let mut reference = vec![0.0; model.n_outputs()];
    for src in ["ort", "native"] {
        let (cols, expected) = read_csv(&dir().join(format!("{name}.{src}.csv")));
        assert_eq!(cols, model.output_names(), "{name}: output columns");
        assert_eq!(expected.len(), rows.len());
        let mut worst = 0.0f64;
        for (i, (row, want)) in rows.iter().zip(&expected).enumerate() {
            model.predict(row, &mut scratch, &mut out).unwrap();
            model.predict_reference(row, &mut reference);
            for k in 0..out.len() {
                let d = (out[k] - want[k]).abs();
                worst = worst.max(d);
                assert!(
                    d <= TOL,
                    "{name} vs {src}: row {i} {}: {} vs {}",
                    cols[k],
                    out[k],
                    want[k]
                );
                assert!(
                    (out[k] - reference[k]).abs() <= 1e-12,
                    "{name}: compiled vs reference walk, row {i}"
                );
            }
        }
        eprintln!("{name}: {} rows, max |tickrail - {src}| = {worst:.2e}", rows.len());
    }
}

#[test]
fn parity_xgb_binary() {
    parity("xgb_binary");
}
#[test]
fn parity_xgb_multiclass() {
    parity("xgb_multiclass");
}
#[test]
fn parity_xgb_regressor() {
    parity("xgb_regressor");
}
#[test]
fn parity_xgb_bench_100x6x37() {
    parity("xgb_bench_100x6x37");
}
#[test]
fn parity_lgbm_binary() {
    parity("lgbm_binary");
}
#[test]
fn parity_lgbm_regressor() {
    parity("lgbm_regressor");
}
#[test]
fn parity_skl_rf_multiclass() {
    parity("skl_rf_multiclass");
}
#[test]
fn parity_skl_gb_regressor() {
    parity("skl_gb_regressor");
}
#[test]
fn parity_skl_et_regressor() {
    parity("skl_et_regressor");
}
#[test]
fn parity_synthetic_every_branch_mode_classifier() {
    parity("synthetic_modes_classifier");
}
#[test]
fn parity_synthetic_every_branch_mode_regressor() {
    parity("synthetic_modes_regressor");
}

#[test]
fn every_fixture_is_listed() {
    let mut found: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".rows.csv").map(str::to_string))
        .collect();
    found.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn check_csv_writes_round_trippable_outputs() {
    for name in ["xgb_multiclass", "lgbm_regressor"] {
        let model = load(name);
        let input = std::fs::read(dir().join(format!("{name}.rows.csv"))).unwrap();
        let mut output = Vec::new();
        let stats = check_csv(&model, &input[..], &mut output).unwrap();
        let text = String::from_utf8(output).unwrap();
        let (_, rows) = read_csv(&dir().join(format!("{name}.rows.csv")));
        assert_eq!(stats.rows, rows.len());
        assert!(stats.missing_cells > 0, "fixture rows carry missing cells");
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), model.output_names().join(","));
        let mut scratch = Scratch::for_model(&model);
        let mut out = vec![0.0; model.n_outputs()];
        for (row, line) in rows.iter().zip(lines) {
            model.predict(row, &mut scratch, &mut out).unwrap();
            let printed: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
            assert_eq!(printed, out, "printed values parse back bit-exact");
        }
    }
}

#[test]
fn check_csv_refuses_a_header_in_the_wrong_order() {
    let model = load("xgb_binary");
    let names = model.feature_names().unwrap().to_vec();
    let mut swapped = names.clone();
    swapped.swap(0, 1);
    let input = format!("{}\n{}\n", swapped.join(","), vec!["1"; names.len()].join(","));
    let err = check_csv(&model, input.as_bytes(), Vec::new()).unwrap_err().to_string();
    assert!(
        err.contains(&names[1]) && err.contains(&names[0]) && err.contains("column 1"),
        "{err}"
    );
}

// ---------------------------------------------------------------- tract as a second reference

/// tract's runnable on the fixture; `None` when tract refuses the model.
fn tract_probabilities(name: &str) -> Option<Vec<Vec<f64>>> {
    use tract_onnx::prelude::*;
    let path = dir().join(format!("{name}.onnx"));
    let mut proto = tract_onnx::onnx().proto_model_for_path(&path).ok()?;
    // Keep only the ensemble (tract has no ZipMap) and expose its outputs.
    let graph = proto.graph.as_mut()?;
    let tree = graph.node.iter().find(|n| n.op_type == "TreeEnsembleClassifier")?.clone();
    graph.output = tree
        .output
        .iter()
        .map(|o| tract_onnx::pb::ValueInfoProto { name: o.clone(), ..Default::default() })
        .collect();
    graph.node = vec![tree];
    let (_, rows) = read_csv(&dir().join(format!("{name}.rows.csv")));
    let nf = rows[0].len();
    let model = tract_onnx::onnx()
        .model_for_proto_model(&proto)
        .ok()?
        .with_input_fact(0, f32::fact([1, nf]).into())
        .ok()?
        .into_optimized()
        .ok()?
        .into_runnable()
        .ok()?;
    let mut all = Vec::new();
    for row in rows {
        let input: Tensor =
            tract_ndarray::Array2::from_shape_vec((1, nf), row.iter().map(|v| *v as f32).collect())
                .ok()?
                .into();
        let out = model.run(tvec!(input.into())).ok()?;
        let view = out[1].to_plain_array_view::<f32>().ok()?;
        all.push(view.iter().map(|v| *v as f64).collect());
    }
    Some(all)
}

#[test]
fn tract_agrees_on_the_classifiers_it_loads() {
    let mut compared = Vec::new();
    for name in FIXTURES {
        let Some(probs) = tract_probabilities(name) else {
            eprintln!("{name}: tract does not load it");
            continue;
        };
        let model = load(name);
        let (_, rows) = read_csv(&dir().join(format!("{name}.rows.csv")));
        let mut scratch = Scratch::for_model(&model);
        let mut out = vec![0.0; model.n_outputs()];
        let mut worst = 0.0f64;
        for (row, p) in rows.iter().zip(&probs) {
            model.predict(row, &mut scratch, &mut out).unwrap();
            for (a, b) in out.iter().zip(p) {
                worst = worst.max((a - b).abs());
            }
        }
        eprintln!("{name}: max |tickrail - tract| = {worst:.2e}");
        compared.push((name.to_string(), worst));
    }
    // tract misreads BRANCH_GTE, so the every-mode fixture is expected to differ; the exporters' models
    // (LT/LEQ only) must agree.
    let exporters: Vec<_> = compared.iter().filter(|(n, _)| !n.starts_with("synthetic")).collect();
    assert!(!exporters.is_empty(), "tract loaded none of the exported classifiers");
    for (name, worst) in exporters {
        assert!(*worst <= TOL, "{name}: tract differs by {worst}");
    }
}

// ---------------------------------------------------------------- refusals

fn refused(path: &std::path::Path, expected: Option<&[String]>) -> String {
    match Model::load(path, expected) {
        Ok(_) => panic!("{} loaded but should be refused", path.display()),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(&path.display().to_string()), "message names the file: {msg}");
            msg
        }
    }
}

#[test]
fn missing_file_is_refused() {
    let msg = refused(&dir().join("no_such_model.onnx"), None);
    assert!(msg.contains("cannot read model file"), "{msg}");
}

#[test]
fn corrupt_bytes_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("garbage.onnx");
    let mut bytes = std::fs::read(dir().join("xgb_binary.onnx")).unwrap();
    for (i, b) in bytes.iter_mut().enumerate().take(64) {
        *b = (i as u8).wrapping_mul(37) ^ 0xff;
    }
    std::fs::write(&p, &bytes).unwrap();
    let msg = refused(&p, None);
    assert!(msg.contains("corrupt") || msg.contains("not an ONNX model"), "{msg}");
}

#[test]
fn truncated_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("truncated.onnx");
    let bytes = std::fs::read(dir().join("xgb_binary.onnx")).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let msg = refused(&p, None);
    assert!(msg.contains("corrupt or truncated"), "{msg}");
}

#[test]
fn text_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("model.onnx");
    std::fs::write(&p, "open_time_ms,open,high,low,close,volume\n1,2,3,4,5,6\n").unwrap();
    let msg = refused(&p, None);
    assert!(msg.contains("corrupt") || msg.contains("not an ONNX model"), "{msg}");
}

#[test]
fn graph_without_tree_op_is_refused() {
    let msg = refused(&dir().join("bad_no_tree_op.onnx"), None);
    assert!(msg.contains("no tree ensemble operator") && msg.contains("Relu"), "{msg}");
}

#[test]
fn probit_post_transform_is_refused() {
    let msg = refused(&dir().join("bad_probit.onnx"), None);
    assert!(msg.contains("unsupported post_transform") && msg.contains("PROBIT"), "{msg}");
}

#[test]
fn wrong_feature_count_is_refused_naming_both() {
    let names: Vec<String> = (0..5).map(|i| format!("f{i}")).collect();
    let msg = refused(&dir().join("xgb_binary.onnx"), Some(&names));
    assert!(msg.contains("reads 12 features but 5 were expected"), "{msg}");
}

#[test]
fn wrong_feature_name_is_refused_naming_both() {
    let model = load("xgb_binary");
    let mut names = model.feature_names().unwrap().to_vec();
    names[3] = "rsi_14".into();
    let msg = refused(&dir().join("xgb_binary.onnx"), Some(&names));
    assert!(
        msg.contains("feature 3 is `vol_12_bps`") && msg.contains("`rsi_14` was expected"),
        "{msg}"
    );
}

#[test]
fn errors_are_typed() {
    assert!(matches!(
        Model::load(dir().join("bad_no_tree_op.onnx"), None),
        Err(ModelError::NoTreeEnsemble { .. })
    ));
    assert!(matches!(
        Model::load(dir().join("bad_probit.onnx"), None),
        Err(ModelError::Unsupported { .. })
    ));
}

#[test]
fn model_shape_and_names() {
    let m = load("xgb_multiclass");
    assert_eq!((m.n_features(), m.n_outputs()), (12, 3));
    assert_eq!(m.output_names(), ["p_0", "p_1", "p_2"]);
    let r = load("skl_gb_regressor");
    assert_eq!(r.output_names(), ["value"]);
    let b = load("xgb_bench_100x6x37");
    assert_eq!(b.n_features(), 37);
    assert_eq!(b.ensemble().trees.len(), 100);
}
