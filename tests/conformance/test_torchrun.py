"""`olm merge` launched by PyTorch's own torchrun (the pinned torch of this
suite, `--standalone --nproc-per-node 2 --no-python`) on the bundled demo pool
gives the report a one-process merge gives: every score, decision and recipe
(timings aside), with the candidates shared by both ranks.

torchrun's agent serves its own TCPStore on MASTER_PORT in its torch's wire
protocol; olm's store is on the next port (core/dist/peers.cpp), which is what
lets an olm built against another libtorch (Debian's 1.13 here) run under it.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import OLM, SOURCE_DIR

DEMO = SOURCE_DIR / "resources" / "demo"
TORCHRUN = Path(sys.executable).parent / "torchrun"


def write_config(path, out):
    # The demo's exact and bigram datasets (generation is the slow part and adds
    # nothing to what is shared), the original preset, 200 samples.
    path.write_text(
        f"models_dir: {DEMO / 'pool'}\n"
        "models: [base, arithmetic, reverse, story]\n"
        "base_model_name: base\n"
        f"output_dir: {out}\n"
        f"dataset_dir: {DEMO / 'datasets'}\n"
        "dataset:\n"
        "  arithmetic.json: {mode: exact}\n"
        "  reverse.json: {mode: bigram}\n"
        "direction: forward\nlayer_swap: true\nboundary_select: false\ntensor_swap: false\n"
        "samples: 200\nholdout: 0.4\nseed: 0\ndtype: float32\nsearch: original\n")
    return path


def decisions(report):
    """The report without what a clock or a launch decides."""
    drop_keys = {"seconds"}

    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in drop_keys}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    return {k: strip(report.get(k)) for k in ("layers", "recipe", "final", "references", "base_model")}


def test_torchrun_two_ranks_match_one_process(tmp_path):
    if not TORCHRUN.exists():
        pytest.fail(f"torchrun not found next to {sys.executable}")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    one = write_config(tmp_path / "one.yaml", tmp_path / "one")
    subprocess.run([OLM, "merge", str(one), "--no-export"], check=True, capture_output=True, env=env)

    two = write_config(tmp_path / "two.yaml", tmp_path / "two")
    p = subprocess.run([str(TORCHRUN), "--standalone", "--nproc-per-node", "2", "--no-python", OLM,
                        "merge", str(two), "--no-export"],
                       capture_output=True, text=True, env=env, timeout=600)
    log = p.stdout + p.stderr
    assert p.returncode == 0, log
    # Both ranks worked: each names its share of the search's scorings.
    rank1 = re.search(r"rank 1 of 2: the search is done; this rank did (\d+) of the (\d+)", log)
    rank0 = re.search(r"distributed: rank 0 did (\d+) of the (\d+)", log)
    assert rank1 and rank0, log
    assert int(rank1.group(1)) > 0 and int(rank0.group(1)) > 0
    assert int(rank1.group(1)) + int(rank0.group(1)) == int(rank0.group(2))

    a = json.loads((tmp_path / "one" / "merge_report.json").read_text())
    b = json.loads((tmp_path / "two" / "merge_report.json").read_text())
    assert b["status"] == "complete"
    assert decisions(a) == decisions(b)
