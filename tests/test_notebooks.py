"""The notebooks in notebooks/ run top to bottom without an error.

Each runs in a temporary copy (the committed outputs stay as they are) on a kernel that is this
very interpreter, so it sees the same installed package and pinned torch whatever other Python
kernels the machine has. Slow: about 3 minutes for both on 2 CPU cores (real models, benchmarks).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = ("speculative_decoding.ipynb", "cross_version.ipynb")
KERNEL = "specwhisper-test"
CELL_TIMEOUT_S = 600  # one cell; the slowest (beam sizes 1-5 on 4 clips) takes about a minute

pytestmark = pytest.mark.slow


def test_every_notebook_is_tested():
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.fixture(scope="module")
def kernel_dirs(tmp_path_factory) -> list[str]:
    """A kernel spec that starts an IPython kernel on ``sys.executable`` (the venv's python)."""
    folder = tmp_path_factory.mktemp("kernels")
    (folder / KERNEL).mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "specwhisper tests",
        "language": "python",
    }
    (folder / KERNEL / "kernel.json").write_text(json.dumps(spec))
    return [str(folder)]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_without_error(name, kernel_dirs, tmp_path, monkeypatch):
    # The notebooks' small benchmarks on 1 clip instead of 4 (the kernel inherits it): that
    # every cell runs is what is tested here; `make notebooks` runs them on 4.
    monkeypatch.setenv("SPECWHISPER_NOTEBOOK_CLIPS", "1")
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    copy = tmp_path / name
    shutil.copy(NOTEBOOK_DIR / name, copy)
    notebook = nbformat.read(copy, as_version=4)
    manager = KernelManager(
        kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=kernel_dirs)
    )
    client = NotebookClient(
        notebook,
        km=manager,
        timeout=CELL_TIMEOUT_S,
        allow_errors=False,  # the first failing cell raises CellExecutionError with its traceback
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    try:
        client.execute()
    finally:
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)
    nbformat.write(notebook, copy)  # left in tmp_path for a look when something is off
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code), "a code cell did not run"
    errors = [out for cell in code for out in cell.outputs if out.output_type == "error"]
    assert not errors
