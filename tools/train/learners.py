"""The three model libraries behind one interface: default parameters, fitting, the optuna search
space, and the ONNX export the engine loads (a tree ensemble, ZipMap after it).

Every learner is a binary classifier whose ONNX output is [p_0, p_1]; every one is deterministic
(fixed seed, one thread).
"""

import numpy as np
import onnx

SEED = 20240101

# LightGBM: the shipped demo model's parameters.
LIGHTGBM = dict(
    objective="binary",
    n_estimators=100,
    learning_rate=0.05,
    num_leaves=15,
    max_depth=5,
    min_child_samples=400,
    subsample=0.8,
    subsample_freq=1,
    colsample_bytree=0.8,
    reg_lambda=1.0,
    random_state=SEED,
    n_jobs=1,
    deterministic=True,
    force_row_wise=True,
    verbose=-1,
)
XGBOOST = dict(
    objective="binary:logistic",
    n_estimators=100,
    learning_rate=0.05,
    max_depth=4,
    min_child_weight=100.0,
    subsample=0.8,
    colsample_bytree=0.8,
    reg_lambda=1.0,
    tree_method="hist",
    random_state=SEED,
    n_jobs=1,
)
# scikit-learn: gradient boosting (exported by skl2onnx).
SKLEARN = dict(
    n_estimators=100,
    learning_rate=0.05,
    max_depth=3,
    min_samples_leaf=400,
    subsample=0.8,
    random_state=SEED,
)
DEFAULTS = {"lightgbm": LIGHTGBM, "xgboost": XGBOOST, "sklearn": SKLEARN}


def fit(library, params, X, y):
    if library == "lightgbm":
        import lightgbm as lgb

        return lgb.LGBMClassifier(**params).fit(X, y)
    if library == "xgboost":
        import xgboost as xgb

        return xgb.XGBClassifier(**params).fit(X, y)
    if library == "sklearn":
        from sklearn.ensemble import GradientBoostingClassifier

        return GradientBoostingClassifier(**params).fit(X, y)
    raise ValueError(f"unknown library {library!r} (lightgbm, xgboost, sklearn)")


def space(library, trial):
    """Parameters optuna tries for `library` (merged over the defaults)."""
    lr = trial.suggest_float("learning_rate", 0.01, 0.2, log=True)
    if library == "lightgbm":
        return dict(learning_rate=lr, num_leaves=trial.suggest_int("num_leaves", 4, 31),
                    min_child_samples=trial.suggest_int("min_child_samples", 50, 1000, log=True),
                    colsample_bytree=trial.suggest_float("colsample_bytree", 0.5, 1.0))
    if library == "xgboost":
        return dict(learning_rate=lr, max_depth=trial.suggest_int("max_depth", 2, 6),
                    min_child_weight=trial.suggest_float("min_child_weight", 10.0, 500.0, log=True),
                    colsample_bytree=trial.suggest_float("colsample_bytree", 0.5, 1.0))
    return dict(learning_rate=lr, max_depth=trial.suggest_int("max_depth", 2, 5),
                min_samples_leaf=trial.suggest_int("min_samples_leaf", 50, 1000, log=True))


def initial_types(n):
    from onnxmltools.convert.common.data_types import FloatTensorType

    return [("input", FloatTensorType([None, n]))]


def to_onnx(library, model, n_features, graph_name, producer):
    """The ONNX model, made reproducible: fixed graph name and opset order."""
    if library == "lightgbm":
        from onnxmltools import convert_lightgbm

        onx = convert_lightgbm(model, initial_types=initial_types(n_features), zipmap=True)
    elif library == "xgboost":
        from onnxmltools import convert_xgboost

        onx = convert_xgboost(model, initial_types=initial_types(n_features))
    else:
        from skl2onnx import to_onnx as skl_to_onnx

        onx = skl_to_onnx(model, np.zeros((1, n_features), dtype=np.float32),
                          target_opset={"": 17, "ai.onnx.ml": 3})
    onx.producer_name = producer
    onx.graph.name = graph_name  # converters name it with a random UUID
    # ... and list the opsets in set order, which varies with the string hash seed.
    opsets = sorted(((o.domain, o.version) for o in onx.opset_import))
    del onx.opset_import[:]
    onx.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in opsets)
    return onx


def splits_per_feature(onx, n_features):
    """How many split nodes read each input, counted in the exported ensemble itself."""
    counts = [0] * n_features
    for node in onx.graph.node:
        if node.op_type not in ("TreeEnsembleClassifier", "TreeEnsembleRegressor"):
            continue
        attrs = {a.name: a for a in node.attribute}
        for f, mode in zip(attrs["nodes_featureids"].ints, attrs["nodes_modes"].strings):
            if mode != b"LEAF":
                counts[f] += 1
    return counts


def trees(onx):
    for node in onx.graph.node:
        if node.op_type in ("TreeEnsembleClassifier", "TreeEnsembleRegressor"):
            ids = {a.name: a for a in node.attribute}["nodes_treeids"].ints
            return len(set(ids))
    return 0


def versions():
    import lightgbm
    import onnxmltools
    import onnxruntime
    import skl2onnx
    import sklearn
    import xgboost

    return {
        "numpy": np.__version__,
        "lightgbm": lightgbm.__version__,
        "xgboost": xgboost.__version__,
        "scikit-learn": sklearn.__version__,
        "onnx": onnx.__version__,
        "onnxmltools": onnxmltools.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
