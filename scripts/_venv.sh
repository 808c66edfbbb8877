# Sourced by the scripts: creates ./.venv once and installs tfattr (editable) with its test extras.
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setting up .venv with $($PY --version) (first run: ~2 minutes, 2.5 GB)" >&2
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
.venv/bin/python -m pip install -q -e ".[test]" 2>&1 | grep -E "^(ERROR|error):" >&2 || true
TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python -c "import tfattr" || { echo "tfattr failed to install" >&2; exit 1; }
