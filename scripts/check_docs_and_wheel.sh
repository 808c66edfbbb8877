#!/usr/bin/env bash
# Builds the docs with `mkdocs build --strict`, builds a wheel and an sdist (`python -m build`),
# installs the wheel into a fresh virtual environment and runs a smoke test there.
#
# The fresh environment reuses the dependencies already installed in ./.venv (TensorFlow is
# 2.5 GB) through a .pth file, and gets the wheel itself with --no-deps: what is tested is the
# wheel's own content (code, package data, entry point), imported from outside the source tree.
# Outputs go to out/check/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [ -z "${TFATTR_VENV:-}" ]; then
  scripts/_venv.sh .venv
  TFATTR_VENV=.venv
fi
PY=$ROOT/$TFATTR_VENV/bin/python
"$PY" -c "import mkdocs, mkdocstrings, material, build" 2>/dev/null \
  || "$PY" -m pip install -q -e ".[docs]"

OUT=$ROOT/out/check
rm -rf "$OUT" && mkdir -p "$OUT"
export NO_MKDOCS_2_WARNING=1 TF_CPP_MIN_LOG_LEVEL=3

echo "== mkdocs build --strict"
"$PY" -m mkdocs build --strict --site-dir "$OUT/site"

echo "== python -m build (sdist, then the wheel from the sdist)"
"$PY" -m build --outdir "$OUT/dist" . > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
WHEEL=$(ls "$OUT"/dist/tfattr-*.whl)
SDIST=$(ls "$OUT"/dist/tfattr-*.tar.gz)
tar tzf "$SDIST" > "$OUT/sdist.txt"
for needed in LICENSE README.md pyproject.toml tfattr/apps/demo/assets/shapes_cnn.weights.h5 tfattr/apps/demo/assets/shapes_cnn.json; do
  grep -qx "tfattr-[^/]*/$needed" "$OUT/sdist.txt" || { echo "the sdist lacks $needed" >&2; exit 1; }
done
"$PY" - "$WHEEL" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
for needed in ("tfattr/apps/demo/assets/shapes_cnn.weights.h5", "tfattr/apps/demo/assets/shapes_cnn.json"):
    assert needed in names, f"the wheel lacks {needed}"
assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names), "the wheel lacks LICENSE"
print(f"wheel: {len(names)} files, package data and LICENSE present")
PY

echo "== install the wheel into a fresh venv and run the smoke test"
BASE=$("$PY" -c "import sys; print(getattr(sys, '_base_executable', sys.executable))")
"$BASE" -m venv "$OUT/venv"
SITE=$("$OUT/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
# The dependencies: every site-packages folder of the test venv (its own .pth files, such as
# an editable install of this checkout, are not processed, so the source tree stays invisible).
(cd / && "$PY" -c "import sys; print('\n'.join(p for p in sys.path if p.endswith('site-packages')))") > "$SITE/_dependencies.pth"
"$OUT/venv/bin/python" -m pip install -q --no-deps --no-index "$WHEEL"
(cd "$OUT" && "$OUT/venv/bin/python" "$ROOT/scripts/smoke_test_wheel.py")
echo "check_docs_and_wheel: docs, sdist and wheel OK"
