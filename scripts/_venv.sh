#!/usr/bin/env bash
# Creates (once) a virtualenv holding one TensorFlow release and installs tfattr into it, editable,
# with its test extras, the way a user who already has that TensorFlow would:
#   scripts/_venv.sh VENV [TF_VERSION [KERAS_VERSION]]
# e.g. scripts/_venv.sh .venv 2.21, scripts/_venv.sh .venv-tf2.16 2.16 3.3.3.
# A new venv first gets tensorflow==TF_VERSION.* and the matching tf-keras (Keras as pip picks it,
# or KERAS_VERSION); then `pip install --dry-run` of tfattr must leave tensorflow, keras, tf-keras
# and numpy as they are (scripts/check_install.py), and the install itself is held to them.
# Without TF_VERSION pip picks the newest supported TensorFlow. TF 2.16 needs Python <= 3.12.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:?usage: scripts/_venv.sh VENV [TF_VERSION [KERAS_VERSION]]}
TF_VERSION=${2:-}
KERAS_VERSION=${3:-}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  echo "setting up $VENV with $($PY --version), TensorFlow ${TF_VERSION:-newest} (~2 minutes, 2.5 GB)" >&2
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  if [ -n "$TF_VERSION" ]; then
    "$VENV/bin/python" -m pip install -q "tensorflow==$TF_VERSION.*" "tf-keras==$TF_VERSION.*" \
      ${KERAS_VERSION:+"keras==$KERAS_VERSION"}
    "$VENV/bin/python" scripts/check_install.py --venv "$VENV" ".[test]"
  fi
fi
# The installed TensorFlow, Keras, tf-keras and NumPy are held as they are.
"$VENV/bin/python" -m pip freeze | grep -iE '^(tensorflow|keras|tf[-_]keras|numpy)==' \
  > "$VENV/tfattr-constraints.txt" || true
stamp=$(cat pyproject.toml "$VENV/tfattr-constraints.txt" | sha1sum | cut -c1-12)
if [ "$(cat "$VENV/tfattr-installed" 2>/dev/null)" != "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q -c "$VENV/tfattr-constraints.txt" -e ".[test]" \
    > "$VENV/tfattr-pip.log" 2>&1 || { cat "$VENV/tfattr-pip.log" >&2; exit 1; }
  echo "$stamp" > "$VENV/tfattr-installed"
fi
TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" -c "import tfattr" ||
  { echo "tfattr failed to install in $VENV" >&2; exit 1; }
