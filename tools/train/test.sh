#!/usr/bin/env bash
# The training tool's tests (tools/train/tests), in a virtualenv of their own.
#
# The virtualenv lives at target/train-venv (or $TICKRAIL_TRAIN_TEST_VENV) and is made again only
# when the pinned requirements or the Python version change (a stamp of their hash inside it).
# Builds the tickrail binary the tests drive (debug) unless TICKRAIL_BIN names one, and expects
# ../shared/data beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/../.."

python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tools/train needs Python 3.11 or newer")'
target=${CARGO_TARGET_DIR:-target}
venv=$(realpath -m "${TICKRAIL_TRAIN_TEST_VENV:-$target/train-venv}")
reqs=(tools/train/requirements.txt tools/train/requirements-test.txt)
stamp=$( (python3 --version; cat "${reqs[@]}") | sha256sum | cut -d' ' -f1)

if [[ ! -f $venv/requirements.sha256 || $(cat "$venv/requirements.sha256") != "$stamp" ]]; then
    echo "== training venv: $venv (pip install of the pinned requirements)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "${reqs[0]}" -r "${reqs[1]}"
    echo "$stamp" >"$venv/requirements.sha256"
else
    echo "== training venv: $venv (requirements unchanged)"
fi

# TICKRAIL_BIN may name a tickrail binary already built (CI passes the one `cargo test` built).
if [[ -n ${TICKRAIL_BIN:-} && -x ${TICKRAIL_BIN} ]]; then
    echo "== tickrail binary: $TICKRAIL_BIN"
else
    echo "== tickrail binary (debug)"
    cargo build -q -p tickrail-engine --bin tickrail
    TICKRAIL_BIN=$(realpath -m "$target")/debug/tickrail
fi
export TICKRAIL_BIN

echo "== training tool tests"
export PYTHONDONTWRITEBYTECODE=1
cd tools/train
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests
