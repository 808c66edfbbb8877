"""Checks that installing tfattr into an environment keeps its TensorFlow, Keras and tf-keras.

Runs ``pip install --dry-run --report`` in the given virtualenv and fails (exit 1) when pip would
install another version of tensorflow, keras, tf-keras or numpy that is already there, or when
the environment holds no TensorFlow (nothing to check). Needs a package index (PyPI).

    python scripts/check_install.py --venv .venv-tf2.19 ".[test]"
    python scripts/check_install.py --venv .venv-tf2.19 --tf 2.19 --keep   # creates it first
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

HELD = ("tensorflow", "keras", "tf-keras", "numpy")
ROOT = pathlib.Path(__file__).resolve().parents[1]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(python: pathlib.Path) -> dict[str, str]:
    out = subprocess.run(
        [python, "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {normalise(p["name"]): p["version"] for p in json.loads(out)}


def planned(python: pathlib.Path, specs: list[str]) -> dict[str, str]:
    """What ``pip install SPECS`` would install, as {name: version}, without installing it."""
    with tempfile.TemporaryDirectory() as folder:
        report = pathlib.Path(folder) / "report.json"
        subprocess.run(
            [python, "-m", "pip", "install", "--dry-run", "-q", "--report", report, *specs],
            cwd=ROOT,
            check=True,
        )
        items = json.loads(report.read_text())["install"]
    return {normalise(i["metadata"]["name"]): i["metadata"]["version"] for i in items}


def check(python: pathlib.Path, specs: list[str]) -> list[str]:
    """Problems found (empty: the held packages stay as they are)."""
    before = installed(python)
    if "tensorflow" not in before:
        return [f"{python}: no tensorflow installed, nothing to check"]
    after = planned(python, specs)
    problems = [
        f"{name} {before[name]} would become {after[name]}"
        for name in HELD
        if name in before and name in after
    ]
    held = ", ".join(f"{name} {before[name]}" for name in HELD if name in before)
    others = sorted(f"{n} {before[n]} -> {v}" for n, v in after.items() if n in before)
    print(f"check_install: {' '.join(specs)} into {held}: {len(after)} packages to install")
    if others:
        print(f"check_install: also changed: {', '.join(others)}")
    return problems


def create(venv: pathlib.Path, tf_version: str, keras_version: str | None) -> None:
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    held = [f"tensorflow=={tf_version}.*", f"tf-keras=={tf_version}.*"]
    if keras_version:
        held.append(f"keras=={keras_version}")
    subprocess.run([python, "-m", "pip", "install", "-q", *held], check=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=pathlib.Path, required=True)
    parser.add_argument("--tf", help="create the venv with this TensorFlow (e.g. 2.19) first")
    parser.add_argument("--keras", help="and this Keras version (default: what pip picks)")
    parser.add_argument("--keep", action="store_true", help="keep a venv created by --tf")
    parser.add_argument("specs", nargs="*", default=["."], help="what to install (default .)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    created = False
    if args.tf:
        if args.venv.exists():
            parser.error(f"--venv {args.venv} exists; --tf creates a new one")
        create(args.venv, args.tf, args.keras)
        created = True
    try:
        problems = check(args.venv / "bin" / "python", args.specs)
    finally:
        if created and not args.keep:
            shutil.rmtree(args.venv)
    for problem in problems:
        print(f"check_install: FAIL: {problem}", file=sys.stderr)
    print(f"check_install: {'FAIL' if problems else 'ok'} in {time.perf_counter() - start:.0f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
