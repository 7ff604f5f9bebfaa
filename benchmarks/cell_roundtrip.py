"""What one cell costs the Jupyter protocol alone: a trivial cell (``x = 1``), sent by nbclient to an
ipykernel and answered, no jail, no nbgrader.  Times 64 such cells (a submission has 64 code cells)
in each of ``--rounds`` kernels and prints the median per cell:

    .venv/bin/python benchmarks/cell_roundtrip.py [--rounds 3]
"""
import argparse
import statistics
import time

import nbclient
import nbformat

CELLS = 64


def per_cell():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1") for _ in range(CELLS + 1)])
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=30)
    with client.setup_kernel():
        client.execute_cell(notebook.cells[0], 0)  # the kernel's first cell pays its own warm-up
        started = time.perf_counter()
        for index, cell in enumerate(notebook.cells[1:], start=1):
            client.execute_cell(cell, index)
        return (time.perf_counter() - started) / CELLS


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times = [per_cell() for _ in range(args.rounds)]
    print(f"one trivial cell through nbclient and ipykernel: {statistics.median(times) * 1000:.1f} ms "
          f"(median of {args.rounds} kernels x {CELLS} cells; {', '.join(f'{t * 1000:.1f}' for t in times)})")


if __name__ == "__main__":
    main()
