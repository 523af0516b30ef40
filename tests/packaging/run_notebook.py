"""Run the notebook with nbclient in this interpreter (a test venv's python) and print what happened as JSON.

    python run_notebook.py NOTEBOOK SOURCE

SOURCE goes into the notebook's marked ``SOURCE = ""`` cell (empty: left as it is). The kernel is this
interpreter's own. The JSON names each error output (cell id, exception name, the lines shown), the cells
that ran, the number of inline images and the text the cells printed.
"""

from __future__ import annotations

import json
import sys

import nbclient
import nbformat


def main() -> int:
    path, source = sys.argv[1], sys.argv[2]
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == "set-source")
    if source:
        cell.source = cell.source.replace('SOURCE = ""', f"SOURCE = {source!r}")
    client = nbclient.NotebookClient(nb, timeout=1500, kernel_name="python3")
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError:
        pass  # the error output is in the notebook
    code = [c for c in nb.cells if c.cell_type == "code"]
    outputs = [(c.get("id"), o) for c in code for o in c.get("outputs", [])]
    print(
        json.dumps(
            {
                "errors": [
                    {"cell": cid, "ename": o["ename"], "lines": o["traceback"]}
                    for cid, o in outputs
                    if o["output_type"] == "error"
                ],
                "ran": [c.get("id") for c in code if c.get("execution_count")],
                "images": sum("image/png" in o.get("data", {}) for _, o in outputs),
                "text": "".join(o.get("text", "") for _, o in outputs if o["output_type"] == "stream"),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
