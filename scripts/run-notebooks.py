#!/usr/bin/env python3
"""Executes notebooks headless with nbclient, in their own folder, and stops at the first cell error with
the cell's source and its stderr (tslab writes compile and runtime errors there; nbclient alone reports
only `<Error>:`). Writes each executed notebook (outputs, images included) to OUT_DIR and prints its time.

usage: run-notebooks.py --kernel NAME --out OUT_DIR [--require-images] NOTEBOOK...
"""
import argparse
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def stderr_of(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr")


def images_in(nb):
    return sum(1 for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--require-images", action="store_true", help="fail a notebook whose outputs hold no PNG")
    parser.add_argument("notebooks", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    failed = False
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, kernel_name=args.kernel, timeout=args.timeout, resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
        start = time.monotonic()
        error = None
        try:
            client.execute()
        except CellExecutionError as e:
            error = e
        seconds = time.monotonic() - start
        out = os.path.join(args.out, os.path.basename(path))
        nbformat.write(nb, out)
        if error is not None:
            failed = True
            # the failing cell is the last one that ran
            index, cell = next(((i, c) for i, c in reversed(list(enumerate(nb.cells))) if c.cell_type == "code" and c.get("execution_count") is not None), (None, None))
            print(f"FAIL {path} after {seconds:.1f} s", file=sys.stderr)
            if cell is not None:
                print(f"--- cell {index} ---\n{cell.source}\n--- its stderr ---\n{stderr_of(cell)}", file=sys.stderr)
            print(f"--- nbclient ---\n{error}", file=sys.stderr)
            print(f"(executed notebook with outputs so far: {out})", file=sys.stderr)
            break
        images = images_in(nb)
        print(f"ok   {path}: {seconds:.1f} s, {images} images -> {out}")
        if args.require_images and images == 0:
            print(f"FAIL {path}: no image in its outputs", file=sys.stderr)
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
