"""Executes every walkthrough notebook in notebooks/ offline, top to bottom, one test each.

The kernel is started from the interpreter running pytest (jupyter_client replaces the
``python3`` kernelspec's ``python`` with ``sys.executable``), with TFATTR_OFFLINE=1 so that the
notebooks use the stand-ins of ../shared/imagenet_assets and generated data instead of
downloads. Any download that slips through fails at once: the kernel's HTTP(S) proxy points at a
closed local port. A failing cell fails the test with the cell's source and error.
"""

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
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: connections are refused at once


def test_all_five_walkthroughs_exist():
    assert [n[:2] for n in NAMES] == ["01", "02", "03", "04", "05"], NAMES


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
    for key, value in environment.items():
        monkeypatch.setenv(key, value)  # the kernel inherits pytest's environment
    monkeypatch.delenv("TFHUB_MODEL_LOAD_FORMAT", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # conftest sets Agg; the kernel uses inline

    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
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
