#!/usr/bin/env bash
# Builds one virtualenv per peer library under benchmarks/.peers/<peer>/, for compare_peers.py.
#
#   benchmarks/setup_peers.sh                  # all peers
#   benchmarks/setup_peers.sh xplique alibi    # some of them
#
# Each peer gets its own TensorFlow because their pins exclude each other and tfattr's TF 2.21:
#   tf_explain    tf-explain 0.3.1   + TF 2.15 (tf.keras = Keras 2; it predates Keras 3)
#   tf_keras_vis  tf-keras-vis 0.8.7 + TF 2.15
#   xplique       xplique 2.0.2      + TF 2.20 (it pins tensorflow<=2.20; the CPU wheel instead of
#                                      its tensorflow[and-cuda] requirement, which drags ~3 GB of CUDA)
#   alibi         alibi 0.9.6        + TF 2.14 (its tensorflow extra pins <2.15; numpy<2)
#   saliency      saliency 0.2.1     + TF 2.21 (framework-free core, TF for the gradient callback)
# The environments are gitignored (benchmarks/.gitignore); delete benchmarks/.peers to start over.
# Logs go to benchmarks/.peers/<peer>.log. PYTHON picks the interpreter (default python3.11).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.peers"
python="${PYTHON:-python3.11}"
mkdir -p "$root"

install() {  # install <peer> <pip args...>
    local peer="$1"
    shift
    local venv="$root/$peer"
    echo "$peer: installing into $venv (log: $root/$peer.log)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    {
        "$venv/bin/pip" install -q --upgrade pip
        "$venv/bin/pip" install "$@"
    } >"$root/$peer.log" 2>&1 || {
        echo "$peer: FAILED, see $root/$peer.log" >&2
        return 1
    }
}

ready() {  # ready <peer>: true (and says so) when a finished environment is there
    [[ -f "$root/$1/.ok" ]] && echo "$1: ready ($root/$1)"
}

finish() {  # finish <peer>: marks the environment complete (compare_peers.py looks for .ok)
    touch "$root/$1/.ok"
    echo "$1: done"
}

peer_tf_explain() {
    ready tf_explain && return 0
    install tf_explain "tensorflow-cpu==2.15.1" "tf-explain==0.3.1" "opencv-python-headless<4.11" \
        "numpy<2" && finish tf_explain
}
peer_tf_keras_vis() {
    ready tf_keras_vis && return 0
    install tf_keras_vis "tensorflow-cpu==2.15.1" "tf-keras-vis==0.8.7" "numpy<2" &&
        finish tf_keras_vis
}
peer_xplique() {
    ready xplique && return 0
    # --no-deps for xplique and tf-keras: both name the GPU/full TF wheel; their other
    # requirements are listed here by hand (ruff, a lint tool in xplique's list, is left out).
    install xplique "tensorflow-cpu==2.20.0" "tensorflow-probability==0.25.0" \
        "deprecated>=1.1" "einops>=0.1" "matplotlib>=3.5" "numpy>=2" "opencv-python-headless" \
        "scikit-image<=0.25.2" "scikit-learn<=1.7.2" "scipy<=1.15.3" &&
        "$root/xplique/bin/pip" install -q --no-deps "xplique==2.0.2" "tf-keras==2.20.1" \
            >>"$root/xplique.log" 2>&1 &&
        finish xplique
}
peer_alibi() {
    ready alibi && return 0
    # click: spacy (imported by alibi.explainers) needs it but its typer pin no longer pulls it.
    install alibi "tensorflow-cpu==2.14.1" "alibi==0.9.6" "numpy<2" "click" && finish alibi
}
peer_saliency() {
    ready saliency && return 0
    install saliency "tensorflow-cpu==2.21.0" "saliency==0.2.1" && finish saliency
}

peers=("$@")
[[ ${#peers[@]} -eq 0 ]] && peers=(tf_explain tf_keras_vis xplique alibi saliency)
status=0
for peer in "${peers[@]}"; do
    "peer_$peer" || status=1
done
exit $status
