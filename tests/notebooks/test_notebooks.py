"""Executes every walkthrough notebook in notebooks/ offline, top to bottom, one test each.

The kernel runs the interpreter that runs pytest (through a kernelspec written for the test),
with TFATTR_OFFLINE=1 so that the notebooks use the stand-ins of ../shared/imagenet_assets and
generated data instead of downloads. Any download that slips through fails at once: the
kernel's HTTP(S) proxy points at a closed local port. A failing cell fails the test with the
cell's source and error; the executed notebook is left in the test's tmp_path.
"""

import importlib.util
import json
import pathlib
import sys
import time

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ASSETS = ROOT.parent / "shared" / "imagenet_assets"
CELL_TIMEOUT = 300  # seconds; the slowest offline cell takes a few seconds
NAMES = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
KERNEL = "tfattr-notebook-test"
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: connections are refused at once


def test_all_five_walkthroughs_exist():
    assert [n[:2] for n in NAMES] == ["01", "02", "03", "04", "05"], NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_layout(name):
    """Badge to this notebook on Colab, a Colab-only install cell, the offline switch, papers."""
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    first, code = notebook.cells[0], [c.source for c in notebook.cells if c.cell_type == "code"]
    badge = (
        f"https://colab.research.google.com/github/tfattr/tfattr/blob/main/notebooks/{name}.ipynb"
    )
    assert first.cell_type == "markdown" and badge in first.source
    assert "arxiv.org" in first.source or "Krizhevsky" in first.source
    assert 'if "google.colab" in sys.modules:' in code[0] and "pip install" in code[0]
    assert 'OFFLINE = os.environ.get("TFATTR_OFFLINE", "0") == "1"' in code[1]


def test_notebooks_match_their_generator():
    """The .ipynb files are what notebooks/_build.py writes (edit the generator, then rebuild)."""
    spec = importlib.util.spec_from_file_location("notebook_build", NOTEBOOKS / "_build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert sorted(build.NOTEBOOKS) == NAMES
    for name in NAMES:
        expected = nbformat.writes(build.build(name))
        actual = (NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8")
        assert actual.strip() == expected.strip(), (
            f"{name}.ipynb is stale: python notebooks/_build.py"
        )


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_offline(name, tmp_path, monkeypatch):
    if not ASSETS.is_dir():
        pytest.skip(f"{ASSETS} is absent: the offline notebooks need the shared ImageNet assets")
    path = NOTEBOOKS / f"{name}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        f"{path.name} is committed with outputs; clear them (python notebooks/_build.py)"
    )

    environment = {
        "TFATTR_OFFLINE": "1",
        "TFATTR_ASSETS": str(ASSETS),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "HOME": str(tmp_path / "home"),  # keeps ~/.keras and ~/tensorflow_datasets untouched
        "KERAS_HOME": str(tmp_path / "keras_home"),
        "TFHUB_CACHE_DIR": str(tmp_path / "tfhub_cache"),
        "TFDS_DATA_DIR": str(tmp_path / "tensorflow_datasets"),
        "MPLCONFIGDIR": str(tmp_path / "matplotlib"),
        "http_proxy": DEAD_PROXY,
        "https_proxy": DEAD_PROXY,
        "HTTP_PROXY": DEAD_PROXY,
        "HTTPS_PROXY": DEAD_PROXY,
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    (tmp_path / "home").mkdir()
    # A kernelspec of our own, first on JUPYTER_PATH: the kernel runs this very interpreter even
    # where a user-level "python3" kernelspec points elsewhere.
    kernel_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    kernel_dir.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "tfattr notebook test", "language": "python"}
    (kernel_dir / "kernel.json").write_text(json.dumps(spec))
    environment["JUPYTER_PATH"] = str(tmp_path / "jupyter")
    for key, value in environment.items():
        monkeypatch.setenv(key, value)  # the kernel inherits pytest's environment
    monkeypatch.delenv("TFHUB_MODEL_LOAD_FORMAT", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # conftest sets Agg; the kernel uses inline

    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        pytest.fail(f"{path.name} failed offline:\n{error}", pytrace=False)
    finally:
        executed = tmp_path / path.name  # kept for inspection when a run goes wrong
        nbformat.write(notebook, executed)
    elapsed = time.perf_counter() - start
    print(f"{path.name}: {elapsed:.1f} s ({sys.executable})")
