"""`olm download` judged by huggingface_hub and transformers: the cache it
fills is the one they read (layout, refs, symlinks into blobs/), and it honours
the per-file lock huggingface_hub takes while it downloads (its own
WeakFileLock at its own lock path), so the two never write one file together.

The Hub is tests/io/hub_server.py on 127.0.0.1 serving a model that
transformers saved.
"""

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import OLM, SOURCE_DIR, make_model

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO = "org/tiny"


@pytest.fixture
def hub(tmp_path):
    """(endpoint, model folder, cache folder) with REPO served from a
    transformers-saved Llama."""
    src = tmp_path / "src"
    make_model("llama", src, seed=3)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"repos": {REPO: {"dir": str(src), "commit": COMMIT,
                                                 "refs": {"main": COMMIT}}}}))
    server = subprocess.Popen([sys.executable, str(SOURCE_DIR / "tests" / "io" / "hub_server.py"),
                               str(spec), str(tmp_path / "requests.log")],
                              stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())
    yield f"http://127.0.0.1:{port}", src, tmp_path / "cache"
    server.kill()
    server.wait()


def olm_download(endpoint, cache, **popen):
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_ENDPOINT": endpoint, "OMP_NUM_THREADS": "1"}
    env.pop("HF_HUB_OFFLINE", None)
    return subprocess.Popen([OLM, "download", REPO], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def test_cache_is_what_huggingface_hub_and_transformers_read(hub):
    from huggingface_hub import scan_cache_dir, try_to_load_from_cache
    from transformers import AutoModelForCausalLM

    endpoint, src, cache = hub
    p = olm_download(endpoint, cache)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    snapshot = cache / "models--org--tiny" / "snapshots" / COMMIT
    assert Path(out.strip()) == snapshot

    # huggingface_hub's own reading of the cache: one repo, one revision under
    # refs/main, no corrupted entries, every file a link into blobs/.
    info = scan_cache_dir(cache)
    assert not info.warnings, info.warnings
    [repo] = info.repos
    assert repo.repo_id == REPO and repo.repo_type == "model"
    [rev] = repo.revisions
    assert rev.commit_hash == COMMIT and rev.refs == frozenset({"main"})
    names = {f.file_name for f in rev.files}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
    for f in rev.files:
        assert f.file_path.is_symlink() and f.blob_path.parent.name == "blobs"
        assert f.blob_path.read_bytes() == (src / f.file_name).read_bytes(), f.file_name
    assert try_to_load_from_cache(REPO, "config.json", cache_dir=cache) == str(snapshot / "config.json")

    # transformers loads it by name, offline, with the same weights.
    got = AutoModelForCausalLM.from_pretrained(REPO, cache_dir=cache, local_files_only=True)
    want = AutoModelForCausalLM.from_pretrained(src)
    for (n, a), (m, b) in zip(sorted(got.state_dict().items()), sorted(want.state_dict().items())):
        assert n == m and torch.equal(a, b), n


def test_waits_for_the_lock_huggingface_hub_holds(hub):
    from huggingface_hub.file_download import repo_folder_name
    from huggingface_hub.utils import WeakFileLock

    endpoint, src, cache = hub
    # Where hf_hub_download locks a blob while it fetches it: .locks/<repo folder>/<etag>.lock,
    # the etag of an LFS file being its sha256.
    etag = hashlib.sha256((src / "model.safetensors").read_bytes()).hexdigest()
    lock_path = cache / ".locks" / repo_folder_name(repo_id=REPO, repo_type="model") / f"{etag}.lock"
    lock_path.parent.mkdir(parents=True)
    weights = cache / "models--org--tiny" / "blobs" / etag
    with WeakFileLock(lock_path):
        p = olm_download(endpoint, cache)
        deadline = time.time() + 60
        while not (cache / "models--org--tiny" / "blobs").exists() and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(2.0)
        assert p.poll() is None, "olm download did not wait for the lock: " + p.communicate()[1]
        assert not weights.exists() and not Path(str(weights) + ".incomplete").exists()
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert "another download of this file is running" in err, err
    assert weights.read_bytes() == (src / "model.safetensors").read_bytes()
