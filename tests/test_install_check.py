"""scripts/check_install.py: the CI check that installing tfattr keeps the user's TensorFlow.

The check itself needs a package index, so ./scripts/test.sh runs it on a fresh TF 2.19
environment; here its decision is tested on recorded environments, and tfattr's declared
ranges are tested against the versions that CI installs.
"""

import importlib.util
import json
import pathlib
import re

import pytest
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_install", ROOT / "scripts/check_install.py")
check_install = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_install)

COLAB_LIKE = {"tensorflow": "2.19.1", "keras": "3.8.0", "tf-keras": "2.19.0", "numpy": "2.1.3"}


def _run(monkeypatch, before, after):
    monkeypatch.setattr(check_install, "installed", lambda python: before)
    monkeypatch.setattr(check_install, "planned", lambda python, specs: after)
    return check_install.check(pathlib.Path("python"), ["."])


def test_an_install_that_adds_packages_only_passes(monkeypatch):
    assert _run(monkeypatch, COLAB_LIKE, {"tfattr": "0.1.0", "scikit-image": "0.26.0"}) == []


@pytest.mark.parametrize("name", ["tensorflow", "keras", "tf-keras", "numpy"])
def test_replacing_a_held_package_fails(monkeypatch, name):
    problems = _run(monkeypatch, COLAB_LIKE, {"tfattr": "0.1.0", name: "9.9.9"})
    assert problems == [f"{name} {COLAB_LIKE[name]} would become 9.9.9"]


def test_an_environment_without_tensorflow_is_an_error(monkeypatch):
    problems = _run(monkeypatch, {"numpy": "2.1.3"}, {"tfattr": "0.1.0"})
    assert problems and "no tensorflow" in problems[0]


def test_names_are_normalised():
    assert check_install.normalise("tf_keras") == "tf-keras"
    assert check_install.normalise("TensorFlow.Hub") == "tensorflow-hub"


def _requirement(name):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        if re.match(rf"{re.escape(name)}\s*[<>=]", line):
            return line
    raise AssertionError(f"{name} is not a dependency")


def _version(text):
    return tuple(int(p) for p in text.split("."))


@pytest.mark.parametrize(
    "name, versions",
    [
        ("tensorflow", ["2.16.2", "2.19.1", "2.21.0"]),
        ("keras", ["3.3.3", "3.8.0", "3.15.1"]),
        ("tf-keras", ["2.16.0", "2.19.0", "2.21.0"]),
    ],
)
def test_declared_ranges_hold_the_tested_versions(name, versions):
    """The versions ./scripts/test.sh installs (oldest, install check, newest) are in range."""
    bounds = re.findall(r"(>=|<)\s*([\d.]+)", _requirement(name))
    for version in versions:
        for op, bound in bounds:
            ok = (
                _version(version) >= _version(bound)
                if op == ">="
                else _version(version) < _version(bound)
            )
            assert ok, f"{name} {version} is outside {_requirement(name)}"


def test_test_script_installs_the_versions_above():
    script = (ROOT / "scripts/test.sh").read_text()
    assert "NEWEST=2.21" in script
    assert "OLDEST=2.16 OLDEST_KERAS=3.3.3" in script
    assert "CHECKED=2.19 CHECKED_KERAS=3.8.0" in script


def test_notebook_install_cells_keep_colabs_tensorflow():
    """The first code cell installs tfattr alone: no upgrade flag, no TensorFlow/Keras named."""
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        source = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
        install = [line.strip() for line in source.splitlines() if "pip install" in line]
        assert len(install) == 1, path.name
        words = install[0].split()
        assert words[:4] == ["!pip", "install", "-q", words[3]], install
        assert words[3].strip('"') in ("tfattr", "tfattr[segments]"), install
        assert len(words) == 4, f"{path.name}: {install[0]}"  # no -U, --upgrade, --force, pins
