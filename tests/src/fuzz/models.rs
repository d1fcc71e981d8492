//! Targets for the ONNX tree-model loader: raw bytes ([`model`]), and structure-aware edits
//! ([`model_edits`]). Byte mutations almost never survive protobuf decoding, so the second
//! target decodes a real model, applies edits read from the fuzz input to the
//! tree ensemble's attributes and the graph, re-encodes it, and hands it to the model loader.
//!
//! The input is a program of 8-byte edits `[op, attr, index, value × 5]`; its first byte picks
//! the seed model. Edits: set an integer or float list element to a hostile value, truncate or
//! grow a list, set `n_targets` or the input width, make the ensemble read its input through an
//! `Identity` cycle, or replace a string attribute.

use prost::Message;
use tract_onnx::pb::{self, AttributeProto, ModelProto};

use super::{scratch_file, seeds::seeds, Outcome, Target};

/// Integers that break counts, ids and indexes.
const HOSTILE_INTS: [i64; 12] =
    [0, 1, -1, 2, 3, 255, 65_536, 1 << 31, 1 << 40, i64::MAX, i64::MIN, u32::MAX as i64];
/// Floats that break thresholds and weights.
const HOSTILE_FLOATS: [f32; 8] =
    [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 1e30, -1e30, f32::MIN_POSITIVE];
/// Strings for mode, transform and aggregate attributes.
const STRINGS: [&str; 10] = [
    "LEAF",
    "BRANCH_LEQ",
    "BRANCH_EQ",
    "BRANCH_NEQ",
    "SOFTMAX",
    "LOGISTIC",
    "PROBIT",
    "AVERAGE",
    "MAX",
    "",
];

/// ONNX model loader (`Model::load` on a scratch file without a metadata sidecar). A loaded
/// model must predict finite numbers for an all-zero and an all-NaN row.
pub fn model(data: &[u8]) -> Outcome {
    use tickrail_engine::model::{Model, ModelError, Scratch};
    let path = scratch_file("fuzz.onnx", data);
    match Model::load(&path, None) {
        Ok(m) => {
            assert!(m.n_features() >= 1 && m.n_outputs() >= 1);
            assert_eq!(m.output_names().len(), m.n_outputs());
            let mut scratch = Scratch::for_model(&m);
            let mut out = vec![0.0; m.n_outputs()];
            let mut finite = true;
            for x in [0.0, f64::NAN] {
                m.predict(&vec![x; m.n_features()], &mut scratch, &mut out).expect("sized buffers");
                finite &= out.iter().all(|v| v.is_finite());
            }
            if finite {
                Outcome::Accepted
            } else {
                Outcome::Flagged("non_finite_prediction")
            }
        }
        Err(e) => {
            super::error_naming(&e, &path);
            Outcome::Rejected(match e {
                ModelError::Io { .. } => "io",
                ModelError::Corrupt { .. } => "corrupt",
                ModelError::NotOnnx { .. } => "not_onnx",
                ModelError::NoTreeEnsemble { .. } => "no_tree_ensemble",
                ModelError::UnsupportedOp { .. } => "unsupported_op",
                ModelError::UnsupportedAttribute { .. } => "unsupported_attribute",
                ModelError::Unsupported { .. } => "unsupported",
                ModelError::Inconsistent { .. } => "inconsistent",
                ModelError::FeatureCount { .. } => "feature_count",
                ModelError::FeatureName { .. } => "feature_name",
                ModelError::Metadata { .. } => "metadata",
                ModelError::SelfCheck { .. } => "self_check",
            })
        }
    }
}

/// Applies the edits `data` describes to a seed model and loads the result.
pub fn model_edits(data: &[u8]) -> Outcome {
    let models = seeds(Target::Model);
    let Some((&pick, program)) = data.split_first() else {
        return Outcome::Rejected("empty_program");
    };
    if models.is_empty() {
        return Outcome::Rejected("no_seed");
    }
    let Ok(mut proto) = ModelProto::decode(&models[usize::from(pick) % models.len()][..]) else {
        return Outcome::Rejected("seed_not_onnx");
    };
    for edit in program.chunks_exact(8).take(16) {
        apply(&mut proto, edit);
    }
    model(&proto.encode_to_vec())
}

fn apply(proto: &mut ModelProto, e: &[u8]) {
    let Some(graph) = proto.graph.as_mut() else { return };
    let raw = i64::from_le_bytes([e[3], e[4], e[5], e[6], e[7], 0, 0, 0]);
    let int =
        if e[3] & 1 == 0 { HOSTILE_INTS[usize::from(e[4]) % HOSTILE_INTS.len()] } else { raw };
    let float = HOSTILE_FLOATS[usize::from(e[4]) % HOSTILE_FLOATS.len()];
    match e[0] % 9 {
        5 => {
            // The graph input's width.
            use pb::tensor_shape_proto::dimension::Value as D;
            use pb::type_proto::Value;
            let dim = graph
                .input
                .first_mut()
                .and_then(|i| i.r#type.as_mut())
                .and_then(|t| t.value.as_mut())
                .and_then(|Value::TensorType(t)| t.shape.as_mut())
                .and_then(|s| s.dim.get_mut(1));
            if let Some(d) = dim {
                d.value = Some(D::DimValue(int));
            }
        }
        6 => {
            // An Identity that feeds itself, in front of the ensemble.
            let Some(tree) = graph.node.iter_mut().find(|n| n.op_type.starts_with("TreeEnsemble"))
            else {
                return;
            };
            if let Some(i) = tree.input.first_mut() {
                *i = "cycle".into();
            }
            graph.node.push(pb::NodeProto {
                op_type: "Identity".into(),
                input: vec!["cycle".into()],
                output: vec!["cycle".into()],
                ..Default::default()
            });
        }
        op => {
            let Some(tree) = graph.node.iter_mut().find(|n| n.op_type.starts_with("TreeEnsemble"))
            else {
                return;
            };
            if tree.attribute.is_empty() {
                return;
            }
            let n = tree.attribute.len();
            let a: &mut AttributeProto = &mut tree.attribute[usize::from(e[1]) % n];
            let at = usize::from(e[2]);
            match op {
                0 if !a.ints.is_empty() => {
                    let len = a.ints.len();
                    a.ints[at % len] = int;
                }
                1 if !a.floats.is_empty() => {
                    let len = a.floats.len();
                    a.floats[at % len] = float;
                }
                2 => {
                    a.ints.truncate(at % (a.ints.len() + 1));
                    a.floats.truncate(at % (a.floats.len() + 1));
                    a.strings.truncate(at % (a.strings.len() + 1));
                }
                3 => {
                    if let Some(&v) = a.ints.get(at % a.ints.len().max(1)) {
                        a.ints.push(v);
                    }
                    if let Some(&v) = a.floats.get(at % a.floats.len().max(1)) {
                        a.floats.push(v);
                    }
                    if let Some(v) = a.strings.get(at % a.strings.len().max(1)).cloned() {
                        a.strings.push(v);
                    }
                }
                4 => {
                    a.i = int;
                }
                7 => {
                    let s = STRINGS[usize::from(e[4]) % STRINGS.len()].as_bytes().to_vec();
                    if a.strings.is_empty() {
                        a.s = s;
                    } else {
                        let len = a.strings.len();
                        a.strings[at % len] = s;
                    }
                }
                _ => {
                    // The same integer everywhere in a list (all nodes one tree, one id…).
                    a.ints.iter_mut().for_each(|v| *v = int);
                }
            }
        }
    }
}
