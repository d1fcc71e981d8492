#!/usr/bin/env bash
# Backtest comparison of tickrail, hftbacktest and NautilusTrader, from nothing:
# venv under target/peers-venv, pinned install, synthetic input, release build, runs, table.
# Arguments go to backtest_peers.py (e.g. --runs 5, --only tickrail hftbacktest, --no-build).
# PYTHON picks the interpreter for the venv (default python3; needs 3.11 for the pinned set).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/peers-venv
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r benches/peers/requirements.txt
if [ ! -f target/peers/data/manifest.json ]; then
    "$venv/bin/python" benches/peers/make_synthetic.py --out target/peers/data
fi
exec "$venv/bin/python" benches/peers/backtest_peers.py "$@"
