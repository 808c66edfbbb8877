"""The README and the docs as users read them: the tour runs verbatim, the methods table is the
registry's, and the text describes the product (no dated notes of how it was built)."""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# Runs before the tour in its own process: the same network block as conftest.py's fixture.
_NO_NETWORK = """
import socket
_connect = socket.socket.connect
def _blocked_connect(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if self.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(("127.", "::1", "localhost")):
        raise RuntimeError(f"the README tour reached for the network ({address!r})")
    return _connect(self, address)
socket.socket.connect = _blocked_connect
"""


def section_code(text: str, heading: str) -> str:
    """The first ```python block after a ``## heading`` line."""
    start = text.index(f"\n## {heading}\n")
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match, f"no python block under '## {heading}'"
    return match.group(1)


def load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_start_names_the_test_command():
    assert "./scripts/test.sh" in README.read_text(encoding="utf-8")


def test_methods_table_is_generated_from_the_registry():
    hooks = load_hooks()
    text = README.read_text(encoding="utf-8")
    assert hooks.readme_with_table(text) == text, "run: python docs/hooks.py --write"
    from tfattr import registry

    table = hooks.methods_table()
    for name in registry.CLASSES:
        assert f"| `{name}` |" in table
    api = hooks.methods_api()
    for entry in registry.METHODS.values():
        assert f"::: {entry.module}.{entry.class_name}" in api


_HISTORY = [
    (re.compile(r"\b20\d\d-\d\d-\d\d\b"), "a date"),
    (re.compile(r"\bmachines? [ABC]\b"), "a machine letter"),
    (re.compile(r"\b(?:at|after|before|since) [0-9a-f]{7,40}\b"), "a commit hash"),
    (re.compile(r"\b(?:this|earlier|previous) session\b", re.I), "a work session"),
    (re.compile(r"\btried (?:before|earlier)\b|\band reverted\b", re.I), "what was tried"),
]


@pytest.mark.parametrize(
    "path",
    [README, *sorted((ROOT / "docs").rglob("*.md"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_docs_describe_the_product_not_its_history(path):
    text = path.read_text(encoding="utf-8")
    for pattern, what in _HISTORY:
        found = pattern.search(text)
        assert found is None, f"{path.name} mentions {what}: {found.group(0)!r}"


@pytest.mark.slow
def test_the_tour_runs_as_written(imagenet_assets, tmp_path):
    """The README's tour and the docs' first example, verbatim, with Keras' cache holding the
    real MobileNet weights and class index (what ``keras.applications`` would download)."""
    tour = section_code(README.read_text(encoding="utf-8"), "A short tour")
    first = section_code(
        (ROOT / "docs" / "index.md").read_text(encoding="utf-8"), "A first explanation"
    )
    # Two scripts in one process (one TensorFlow start-up), each in its own namespace.
    code = f"exec(compile({tour!r}, 'README tour', 'exec'), {{}})\n"
    code += f"exec(compile({first!r}, 'docs/index.md', 'exec'), {{}})\n"
    models = tmp_path / "keras" / "models"
    models.mkdir(parents=True)
    for name in ("mobilenet_2_5_128_tf.h5", "imagenet_class_index.json"):
        (models / name).symlink_to(imagenet_assets / name)
    work = tmp_path / "work"
    work.mkdir()
    script = work / "tour.py"
    script.write_text(_NO_NETWORK + code, encoding="utf-8")
    env = {
        **os.environ,
        "KERAS_HOME": str(tmp_path / "keras"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "MPLBACKEND": "Agg",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    done = subprocess.run(
        [sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-4000:]
    for picture in ("ig.png", "compare.png", "cat.png"):
        assert (work / picture).stat().st_size > 10_000


def test_api_reference_renders_every_public_module_and_name():
    """Each public module has its page, and each top-level name is rendered on one."""
    import tfattr
    from tfattr import registry

    directives = set()
    for page in (ROOT / "docs" / "api").glob("*.md"):
        directives |= set(re.findall(r"^::: (\S+)", page.read_text(encoding="utf-8"), re.M))
    for module in ("models", "data", "viz", "metrics", "sanity", "adversarial", "callbacks"):
        assert f"tfattr.{module}" in directives, f"no API page renders tfattr.{module}"
    for module in ("report", "registry", "errors", "compat.tf_explain"):
        assert f"tfattr.{module}" in directives, f"no API page renders tfattr.{module}"
    for name in tfattr.__all__:
        if name in registry.CLASSES or name == "__version__":
            continue  # the methods page is generated from the registry
        module = getattr(tfattr, name).__module__
        assert module in directives or f"{module}.{name}" in directives, name
