//! Reads an ONNX file into an [`Ensemble`].
//!
//! `tract-onnx` decodes the protobuf (its `pb` model types); this module checks the graph shape and reads
//! the ONNX-ML tree attributes itself. Accepted graphs: one `TreeEnsembleClassifier` or
//! `TreeEnsembleRegressor` (domain `ai.onnx.ml`) reading the single float graph input, optionally through
//! `Identity`/`Cast`-to-float, and anything downstream of it limited to `Identity`, `Cast` and `ZipMap`.
//! skl2onnx and onnxmltools put a `ZipMap` after classifiers (probabilities as a list of maps); it is
//! skipped: the model's outputs are the probability tensor the ensemble writes before it.

use std::collections::HashMap;

use tract_onnx::pb::{self, attribute_proto::AttributeType, AttributeProto, NodeProto};
use tract_onnx::prelude::Framework;

use super::ensemble::{Aggregate, Ensemble, Kind, Mode, Node, PostTransform, Tree};
use super::ModelError;

/// What the file holds, beyond the ensemble.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The validated ensemble.
    pub ensemble: Ensemble,
    /// `TreeEnsembleClassifier` or `TreeEnsembleRegressor`.
    pub op: String,
    /// Producer named in the file (e.g. `skl2onnx`, `OnnxMLTools`).
    pub producer: String,
}

const FLOAT: i32 = 1;
const DOUBLE: i32 = 11;
/// Most input features, and most output columns, a model may have. Larger counts in a file are
/// damage: the load-time self-check and the hot path's scratch are sized by them.
pub const MAX_WIDTH: usize = 1 << 12;

/// Decodes and interprets the ONNX bytes of `path`.
pub fn parse(path: &str, bytes: &[u8]) -> Result<Parsed, ModelError> {
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| ModelError::Corrupt { path: path.into(), reason: format!("{e:#}") })?;
    let not_onnx = |reason: &str| ModelError::NotOnnx { path: path.into(), reason: reason.into() };
    if proto.ir_version <= 0 {
        return Err(not_onnx("no ir_version"));
    }
    let graph = proto.graph.as_ref().ok_or_else(|| not_onnx("no graph"))?;
    if graph.node.is_empty() {
        return Err(not_onnx("the graph has no nodes"));
    }
    let is_tree = |n: &NodeProto| {
        (n.op_type == "TreeEnsembleClassifier" || n.op_type == "TreeEnsembleRegressor")
            && n.domain == "ai.onnx.ml"
    };
    let trees: Vec<&NodeProto> = graph.node.iter().filter(|n| is_tree(n)).collect();
    let tree = match trees.as_slice() {
        [] => {
            let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
            return Err(ModelError::NoTreeEnsemble { path: path.into(), ops: ops.join(", ") });
        }
        [t] => *t,
        _ => {
            return Err(ModelError::UnsupportedOp {
                path: path.into(),
                op: trees[1].op_type.clone(),
                reason: format!(
                    "{} tree ensemble operators in one graph; tickrail loads exactly one",
                    trees.len()
                ),
            })
        }
    };
    for n in &graph.node {
        if !is_tree(n) && !matches!(n.op_type.as_str(), "Identity" | "Cast" | "ZipMap") {
            return Err(ModelError::UnsupportedOp {
                path: path.into(),
                op: n.op_type.clone(),
                reason:
                    "only a tree ensemble with Identity, Cast and ZipMap around it is supported"
                        .into(),
            });
        }
    }
    // The ensemble input must come from the graph input, through Identity / Cast-to-float only.
    let real_inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !graph.initializer.iter().any(|t| t.name == i.name))
        .collect();
    if real_inputs.len() != 1 {
        return Err(ModelError::UnsupportedOp {
            path: path.into(),
            op: tree.op_type.clone(),
            reason: format!(
                "the graph has {} inputs; a tree model reads one [N, features] tensor",
                real_inputs.len()
            ),
        });
    }
    let input = real_inputs[0];
    let mut src = tree.input.first().cloned().unwrap_or_default();
    let mut hops = 0;
    while src != input.name {
        // More hops than nodes is a cycle (an Identity feeding itself): no graph input at its end.
        hops += 1;
        let producer = graph
            .node
            .iter()
            .find(|n| n.output.contains(&src))
            .filter(|_| hops <= graph.node.len());
        match producer {
            Some(n)
                if n.op_type == "Identity"
                    || (n.op_type == "Cast" && int_attr(n, "to") == Some(FLOAT as i64)) =>
            {
                src = n.input.first().cloned().unwrap_or_default();
            }
            _ => {
                return Err(ModelError::UnsupportedOp {
                    path: path.into(),
                    op: tree.op_type.clone(),
                    reason: format!(
                        "its input `{src}` does not come from the graph input `{}`",
                        input.name
                    ),
                })
            }
        }
    }
    let (elem, dims) = tensor_type(input);
    if elem != FLOAT {
        return Err(ModelError::Unsupported {
            path: path.into(),
            op: tree.op_type.clone(),
            what: "graph input element type".into(),
            value: format!("{elem} (only float32 = 1; export with FloatTensorType)"),
        });
    }
    let ensemble = read_ensemble(path, tree, dims.get(1).copied().flatten())?;
    Ok(Parsed { ensemble, op: tree.op_type.clone(), producer: proto.producer_name.clone() })
}

fn tensor_type(v: &pb::ValueInfoProto) -> (i32, Vec<Option<usize>>) {
    use pb::tensor_shape_proto::dimension::Value as D;
    use pb::type_proto::Value;
    match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Value::TensorType(t)) => {
            let dims = t
                .shape
                .as_ref()
                .map(|s| {
                    s.dim
                        .iter()
                        .map(|d| match d.value {
                            Some(D::DimValue(v)) if v > 0 => Some(v as usize),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            (t.elem_type, dims)
        }
        _ => (0, Vec::new()),
    }
}

fn int_attr(n: &NodeProto, name: &str) -> Option<i64> {
    n.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

const KNOWN: &[&str] = &[
    "nodes_treeids",
    "nodes_nodeids",
    "nodes_featureids",
    "nodes_values",
    "nodes_values_as_tensor",
    "nodes_modes",
    "nodes_truenodeids",
    "nodes_falsenodeids",
    "nodes_missing_value_tracks_true",
    "nodes_hitrates",
    "nodes_hitrates_as_tensor",
    "class_treeids",
    "class_nodeids",
    "class_ids",
    "class_weights",
    "class_weights_as_tensor",
    "classlabels_int64s",
    "classlabels_strings",
    "target_treeids",
    "target_nodeids",
    "target_ids",
    "target_weights",
    "target_weights_as_tensor",
    "n_targets",
    "aggregate_function",
    "base_values",
    "base_values_as_tensor",
    "post_transform",
];

struct Attrs<'a> {
    path: &'a str,
    op: &'a str,
    map: HashMap<&'a str, &'a AttributeProto>,
}

impl<'a> Attrs<'a> {
    fn bad(&self, detail: String) -> ModelError {
        ModelError::Inconsistent { path: self.path.into(), op: self.op.into(), detail }
    }

    fn ints(&self, name: &str) -> Vec<i64> {
        self.map.get(name).map(|a| a.ints.clone()).unwrap_or_default()
    }

    fn string(&self, name: &str) -> Option<String> {
        self.map.get(name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    fn strings(&self, name: &str) -> Vec<String> {
        self.map
            .get(name)
            .map(|a| a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
            .unwrap_or_default()
    }

    /// A float list, or its `_as_tensor` form (float or double), widened to f64.
    fn floats(&self, name: &str) -> Result<Vec<f64>, ModelError> {
        let tname = format!("{name}_as_tensor");
        if let Some(a) = self.map.get(tname.as_str()) {
            let t = a.t.as_ref().ok_or_else(|| self.bad(format!("{tname} holds no tensor")))?;
            return match t.data_type {
                FLOAT if !t.raw_data.is_empty() => Ok(t
                    .raw_data
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                    .collect()),
                FLOAT => Ok(t.float_data.iter().map(|v| *v as f64).collect()),
                DOUBLE if !t.raw_data.is_empty() => Ok(t
                    .raw_data
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect()),
                DOUBLE => Ok(t.double_data.clone()),
                other => Err(ModelError::Unsupported {
                    path: self.path.into(),
                    op: self.op.into(),
                    what: format!("{tname} element type"),
                    value: other.to_string(),
                }),
            };
        }
        Ok(self
            .map
            .get(name)
            .map(|a| a.floats.iter().map(|v| *v as f64).collect())
            .unwrap_or_default())
    }
}

fn read_ensemble(
    path: &str,
    node: &NodeProto,
    input_width: Option<usize>,
) -> Result<Ensemble, ModelError> {
    let op = node.op_type.as_str();
    let mut map = HashMap::new();
    for a in &node.attribute {
        if !KNOWN.contains(&a.name.as_str()) {
            return Err(ModelError::UnsupportedAttribute {
                path: path.into(),
                op: op.into(),
                name: a.name.clone(),
            });
        }
        if a.r#type == AttributeType::Graph as i32 {
            return Err(ModelError::UnsupportedAttribute {
                path: path.into(),
                op: op.into(),
                name: a.name.clone(),
            });
        }
        map.insert(a.name.as_str(), a);
    }
    let at = Attrs { path, op, map };
    let unsupported = |what: &str, value: String| ModelError::Unsupported {
        path: path.into(),
        op: op.into(),
        what: what.into(),
        value,
    };

    let tree_ids = at.ints("nodes_treeids");
    let node_ids = at.ints("nodes_nodeids");
    let features = at.ints("nodes_featureids");
    let values = at.floats("nodes_values")?;
    let modes = at.strings("nodes_modes");
    let true_ids = at.ints("nodes_truenodeids");
    let false_ids = at.ints("nodes_falsenodeids");
    let missing = at.ints("nodes_missing_value_tracks_true");
    let n = tree_ids.len();
    if n == 0 {
        return Err(at.bad("nodes_treeids is empty".into()));
    }
    for (name, len) in [
        ("nodes_nodeids", node_ids.len()),
        ("nodes_featureids", features.len()),
        ("nodes_values", values.len()),
        ("nodes_modes", modes.len()),
        ("nodes_truenodeids", true_ids.len()),
        ("nodes_falsenodeids", false_ids.len()),
    ] {
        if len != n {
            return Err(at.bad(format!("{name} has {len} entries but nodes_treeids has {n}")));
        }
    }
    if !missing.is_empty() && missing.len() != n {
        return Err(at.bad(format!(
            "nodes_missing_value_tracks_true has {} entries, expected {n}",
            missing.len()
        )));
    }

    let (prefix, kind) = if op == "TreeEnsembleClassifier" {
        let ints = at.ints("classlabels_int64s");
        let strs = at.strings("classlabels_strings");
        let labels: Vec<String> =
            if !ints.is_empty() { ints.iter().map(|v| v.to_string()).collect() } else { strs };
        ("class", Kind::Classifier { labels })
    } else {
        let n_targets = at.map.get("n_targets").map(|a| a.i).unwrap_or(1);
        if n_targets < 1 {
            return Err(at.bad(format!("n_targets is {n_targets}")));
        }
        ("target", Kind::Regressor { n_targets: n_targets as usize })
    };
    let n_columns = match &kind {
        Kind::Classifier { labels } => labels.len(),
        Kind::Regressor { n_targets } => *n_targets,
    };
    if n_columns > MAX_WIDTH {
        return Err(unsupported("number of outputs", format!("{n_columns} (at most {MAX_WIDTH})")));
    }
    let w_trees = at.ints(&format!("{prefix}_treeids"));
    let w_nodes = at.ints(&format!("{prefix}_nodeids"));
    let w_ids = at.ints(&format!("{prefix}_ids"));
    let w_vals = at.floats(&format!("{prefix}_weights"))?;
    let m = w_trees.len();
    for (name, len) in [("nodeids", w_nodes.len()), ("ids", w_ids.len()), ("weights", w_vals.len())]
    {
        if len != m {
            return Err(
                at.bad(format!("{prefix}_{name} has {len} entries but {prefix}_treeids has {m}"))
            );
        }
    }

    let post = match at.string("post_transform").as_deref().unwrap_or("NONE") {
        "NONE" => PostTransform::None,
        "LOGISTIC" => PostTransform::Logistic,
        "SOFTMAX" => PostTransform::Softmax,
        other => {
            return Err(unsupported(
                "post_transform",
                format!("{other} (supported: NONE, LOGISTIC, SOFTMAX)"),
            ))
        }
    };
    if matches!(kind, Kind::Regressor { .. }) && post != PostTransform::None {
        return Err(unsupported(
            "post_transform",
            format!("{post:?} on a regressor (supported: NONE)"),
        ));
    }
    let aggregate = match at.string("aggregate_function").as_deref().unwrap_or("SUM") {
        "SUM" => Aggregate::Sum,
        "AVERAGE" => Aggregate::Average,
        other => {
            return Err(unsupported(
                "aggregate_function",
                format!("{other} (supported: SUM, AVERAGE)"),
            ))
        }
    };
    let base_values = at.floats("base_values")?;

    // Group nodes by tree, in order of first appearance; map (tree, node id) → index within the tree.
    let mut tree_order: Vec<i64> = Vec::new();
    let mut tree_index: HashMap<i64, usize> = HashMap::new();
    let mut local: HashMap<(i64, i64), (usize, usize)> = HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let t = *tree_index.entry(tree_ids[i]).or_insert_with(|| {
            tree_order.push(tree_ids[i]);
            members.push(Vec::new());
            members.len() - 1
        });
        let pos = members[t].len();
        if local.insert((tree_ids[i], node_ids[i]), (t, pos)).is_some() {
            return Err(at.bad(format!("tree {} has node id {} twice", tree_ids[i], node_ids[i])));
        }
        members[t].push(i);
    }
    // Roots: the node of each tree that no other node names as a child.
    let mut is_child = vec![false; n];
    for i in 0..n {
        if modes[i] != "LEAF" {
            for c in [true_ids[i], false_ids[i]] {
                let (_, pos) = *local.get(&(tree_ids[i], c)).ok_or_else(|| {
                    at.bad(format!(
                        "tree {} node {} names child {c}, which does not exist",
                        tree_ids[i], node_ids[i]
                    ))
                })?;
                is_child[members[tree_index[&tree_ids[i]]][pos]] = true;
            }
        }
    }
    let mut leaf_weights: HashMap<(i64, i64), Vec<(u32, f32)>> = HashMap::new();
    for j in 0..m {
        let key = (w_trees[j], w_nodes[j]);
        let &(t, pos) = local.get(&key).ok_or_else(|| {
            at.bad(format!("weight {j} names tree {} node {}, which does not exist", key.0, key.1))
        })?;
        if modes[members[t][pos]] != "LEAF" {
            return Err(at.bad(format!(
                "weight {j} is attached to tree {} node {}, which is not a LEAF",
                key.0, key.1
            )));
        }
        if w_ids[j] < 0 || w_ids[j] as usize >= n_columns {
            return Err(at.bad(format!(
                "{prefix}_ids[{j}] = {} but there are {n_columns} columns",
                w_ids[j]
            )));
        }
        leaf_weights.entry(key).or_default().push((w_ids[j] as u32, w_vals[j] as f32));
    }

    let mut trees = Vec::with_capacity(members.len());
    let mut max_feature = 0usize;
    for (t, idxs) in members.iter().enumerate() {
        let roots: Vec<usize> = idxs.iter().copied().filter(|&i| !is_child[i]).collect();
        if roots.len() != 1 {
            return Err(at.bad(format!(
                "tree {} has {} root nodes (expected 1)",
                tree_order[t],
                roots.len()
            )));
        }
        // Order so the root is first; the rest keep file order.
        let root = roots[0];
        let mut order: Vec<usize> = vec![root];
        order.extend(idxs.iter().copied().filter(|&i| i != root));
        let pos_of: HashMap<usize, u32> =
            order.iter().enumerate().map(|(p, &i)| (i, p as u32)).collect();
        let child = |i: usize, id: i64| pos_of[&members[t][local[&(tree_ids[i], id)].1]];
        let mut nodes = Vec::with_capacity(order.len());
        for &i in &order {
            if modes[i] == "LEAF" {
                let weights = leaf_weights.remove(&(tree_ids[i], node_ids[i])).unwrap_or_default();
                nodes.push(Node::Leaf { weights });
                continue;
            }
            let mode =
                Mode::parse(&modes[i]).ok_or_else(|| unsupported("node mode", modes[i].clone()))?;
            if features[i] < 0 {
                return Err(at.bad(format!(
                    "tree {} node {} reads feature {}",
                    tree_ids[i], node_ids[i], features[i]
                )));
            }
            max_feature = max_feature.max(features[i] as usize);
            nodes.push(Node::Branch {
                feature: features[i] as u32,
                threshold: values[i],
                mode,
                missing_true: missing.get(i).copied().unwrap_or(0) != 0,
                t: child(i, true_ids[i]),
                f: child(i, false_ids[i]),
            });
        }
        trees.push(Tree { nodes });
    }
    let n_features = match input_width {
        Some(w) => {
            if max_feature >= w {
                return Err(at.bad(format!(
                    "a node reads feature {max_feature} but the graph input has {w} columns"
                )));
            }
            w
        }
        None => max_feature + 1,
    };
    if n_features > MAX_WIDTH {
        return Err(unsupported(
            "number of input features",
            format!("{n_features} (at most {MAX_WIDTH})"),
        ));
    }
    let ensemble = Ensemble { n_features, n_columns, trees, kind, base_values, aggregate, post };
    ensemble.validate().map_err(|d| at.bad(d))?;
    Ok(ensemble)
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    fn fixture(name: &str) -> pb::ModelProto {
        let path = format!("{}/../tests/fixtures/models/{name}", env!("CARGO_MANIFEST_DIR"));
        pb::ModelProto::decode(&std::fs::read(path).unwrap()[..]).unwrap()
    }

    /// Found by the `model_edits` fuzz target: an input width of 2^31 (or a feature id, or
    /// `n_targets`, that large) sized the load-time check rows by it, and the allocation aborted.
    #[test]
    fn absurd_widths_are_refused_before_anything_is_sized_by_them() {
        use pb::tensor_shape_proto::dimension::Value as D;
        use pb::type_proto::Value;
        let mut m = fixture("lgbm_regressor.onnx");
        let g = m.graph.as_mut().unwrap();
        let Some(Value::TensorType(t)) = g.input[0].r#type.as_mut().unwrap().value.as_mut() else {
            panic!("a tensor input")
        };
        t.shape.as_mut().unwrap().dim[1].value = Some(D::DimValue(1 << 31));
        let err = parse("wide.onnx", &m.encode_to_vec()).unwrap_err().to_string();
        assert!(err.contains("number of input features: 2147483648"), "{err}");

        let mut m = fixture("lgbm_regressor.onnx");
        let nodes = &mut m.graph.as_mut().unwrap().node;
        let tree = nodes.iter_mut().find(|n| n.op_type.starts_with("TreeEnsemble")).unwrap();
        match tree.attribute.iter_mut().find(|a| a.name == "n_targets") {
            Some(a) => a.i = 1 << 40,
            None => tree.attribute.push(AttributeProto {
                name: "n_targets".into(),
                i: 1 << 40,
                r#type: AttributeType::Int as i32,
                ..Default::default()
            }),
        }
        let err = parse("wide.onnx", &m.encode_to_vec()).unwrap_err().to_string();
        assert!(err.contains("number of outputs: 1099511627776"), "{err}");
    }

    /// Found by the `model_edits` fuzz target: the ensemble reads `cycle`, which an Identity
    /// makes from `cycle`. The walk back to the graph input used to loop forever.
    #[test]
    fn identity_cycle_in_front_of_the_ensemble_is_refused() {
        let mut m = fixture("lgbm_regressor.onnx");
        let g = m.graph.as_mut().unwrap();
        let tree = g.node.iter_mut().find(|n| n.op_type.starts_with("TreeEnsemble")).unwrap();
        tree.input[0] = "cycle".into();
        g.node.push(NodeProto {
            op_type: "Identity".into(),
            input: vec!["cycle".into()],
            output: vec!["cycle".into()],
            ..Default::default()
        });
        let err = parse("cycle.onnx", &m.encode_to_vec()).unwrap_err().to_string();
        assert!(err.contains("does not come from the graph input"), "{err}");
    }
}
