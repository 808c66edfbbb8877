#!/usr/bin/env bash
# The test command. With pytest arguments it runs them on the newest supported TensorFlow, e.g.
#   ./scripts/test.sh tests/methods -k ig
# Without arguments (what CI runs, from nothing) it tests the supported range:
#   1. the whole suite on TF 2.21 (./.venv);
#   2. the model-kind tests on TF 2.21 with TF_USE_LEGACY_KERAS=1 (tf.keras = tf-keras);
#   3. a representative part (OLDEST_TESTS: every method on every model kind, the adapter, the
#      CLI smoke tests, one notebook, the compatibility layer) on TF 2.16 + Keras 3.3.3 + NumPy
#      1.26 (./.venv-tf2.16), `tfattr evaluate` under MirroredStrategy and resumed included;
#   4. that pip installs tfattr into an environment holding TF 2.19 + Keras 3.8 without changing
#      TensorFlow, Keras, tf-keras or NumPy (scripts/check_install.py; needs PyPI);
#   5. the docs (mkdocs build --strict) and the wheel, installed and smoke-tested in a fresh venv;
#   6. the Apache Beam pipeline with the DirectRunner (the [beam] extra, installed into ./.venv
#      last: apache-beam holds its own protobuf and pyarrow ranges).
# Debian's chromium is installed first when missing, for the browser test of the reports.
# Each environment comes from scripts/_venv.sh. TFATTR_TEST_RANGE=0 runs step 1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
NEWEST=2.21
OLDEST=2.16 OLDEST_KERAS=3.3.3
CHECKED=2.19 CHECKED_KERAS=3.8.0
OLDEST_TESTS=(
  tests/core/test_methods_on_model_kinds.py
  tests/core/test_model_kinds.py
  tests/core/test_model_integrity.py
  tests/core/test_tf_compat.py
  tests/test_package.py
  tests/test_install_check.py
  tests/cli/test_cli_demo.py
  tests/cli/test_cli_errors.py
  tests/cli/test_cli_explain.py
  tests/cli/test_cli_evaluate.py::test_records_maps_and_summary_read_back_in_one_line
  tests/cli/test_cli_evaluate.py::test_shard_jobs_join_one_run_and_the_summary_merges_them
  tests/cli/test_cli_evaluate.py::test_mirrored_over_two_logical_cpus_matches_default
  tests/cli/test_cli_evaluate.py::test_mirrored_integrated_gradients_match_default
  tests/cli/test_cli_evaluate.py::test_killed_run_resumes_to_exactly_the_records
  tests/metrics/test_metrics_deletion.py
  tests/report/test_callbacks.py
  "tests/notebooks/test_notebooks.py::test_notebook_runs_offline[05_cifar10_cnn_deeplift_noise_tunnel]"
)
LEGACY_TESTS=(tests/core/test_model_kinds.py tests/core/test_methods_on_model_kinds.py)
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
pytest_n=(-n "${TFATTR_TEST_WORKERS:-2}")

scripts/_venv.sh .venv "$NEWEST"
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest "${pytest_n[@]}" "$@"
fi

status=0
step() {  # step NAME COMMAND...: runs it, timed; a failure fails the run at the end
  local start=$SECONDS
  echo "=== $1" >&2
  "${@:2}" || { status=1; echo "=== FAILED: $1" >&2; }
  echo "=== $1: $((SECONDS - start)) s" >&2
}
bash scripts/_browser.sh
step "whole suite, TF $NEWEST" .venv/bin/python -m pytest "${pytest_n[@]}"
if [ "${TFATTR_TEST_RANGE:-1}" != 0 ]; then
  step "model kinds, TF $NEWEST, TF_USE_LEGACY_KERAS=1" \
    env TF_USE_LEGACY_KERAS=1 .venv/bin/python -m pytest "${pytest_n[@]}" "${LEGACY_TESTS[@]}"
  step "environment, TF $OLDEST" scripts/_venv.sh ".venv-tf$OLDEST" "$OLDEST" "$OLDEST_KERAS"
  step "representative part, TF $OLDEST" \
    ".venv-tf$OLDEST/bin/python" -m pytest "${pytest_n[@]}" "${OLDEST_TESTS[@]}"
  scratch=$(mktemp -d)
  step "install check, TF $CHECKED" .venv/bin/python scripts/check_install.py \
    --venv "$scratch/venv" --tf "$CHECKED" --keras "$CHECKED_KERAS" ".[test]"
  rm -rf "$scratch"
  step "docs and wheel" env TFATTR_VENV=.venv scripts/check_docs_and_wheel.sh
  step "Beam pipeline, DirectRunner" sh -c '.venv/bin/python -m pip install -q -c .venv/tfattr-constraints.txt -e ".[test,beam]" &&
    .venv/bin/python -m pytest -n 0 tests/cli/test_cli_evaluate_beam.py'
fi
exit $status
