"""The example notebook runs from top to bottom and shows what it promises."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from ..conftest import EXAMPLES

NOTEBOOK = EXAMPLES / "cohort-audit.ipynb"


@pytest.mark.slow
def test_the_example_notebook_executes() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "the notebook is stored without outputs"
    )
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any('class="rsa-eval"' in h and "rsa-flag" in h for h in html)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "Adherence summary: 27 records" in text
    assert "2,000 patients," in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
