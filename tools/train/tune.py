"""Optional hyperparameter search with optuna, on a fold's training rows only.

The fold's (already purged and embargoed) training rows are split in time: the last `val_frac`
of them validate, the rows before them train, purged again so no inner-training label reaches
into the validation part. Each trial fits on the inner part and scores the validation log loss;
the best parameters are then refitted on all the fold's training rows. The fold's test window is
never seen. optuna is not a requirement: without it the search is skipped with a message and the
fixed parameters are used.
"""

import numpy as np

import learners


def available():
    try:
        import optuna  # noqa: F401

        return True
    except ImportError:
        return False


def search(library, base, X, y, t_ms, trials, horizon, bar_ms, val_frac=0.2):
    """(best parameters merged over `base`, best validation log loss, trials run)."""
    import optuna
    from sklearn.metrics import log_loss

    n = len(y)
    v0 = n - max(1, int(n * val_frac))
    inner = np.flatnonzero(t_ms[:v0] < t_ms[v0] - horizon * bar_ms)
    val = np.arange(v0, n)
    if len(inner) == 0 or len(np.unique(y[inner])) < 2:
        return dict(base), None, 0

    def objective(trial):
        params = dict(base, **learners.space(library, trial))
        m = learners.fit(library, params, X[inner], y[inner])
        return log_loss(y[val], m.predict_proba(X[val])[:, 1], labels=[0, 1])

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=learners.SEED))
    study.optimize(objective, n_trials=trials)
    return dict(base, **study.best_params), float(study.best_value), len(study.trials)
