"""pipelines/neardup.py's MinHash is datasketch's "affine32" MinHash, computed without importing
datasketch (which imports scipy: ~50 MB in every worker). Stored signatures depend on it bit for bit."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
from datasketch import MinHash

from pipelines import neardup


def datasketch_signature(shingle_set: set[bytes]) -> np.ndarray:
    sketch = MinHash(num_perm=neardup.NUM_PERM, seed=neardup.SEED, scheme="affine32")
    sketch.update_batch(list(shingle_set))
    return sketch.hashvalues


def test_permutations_are_datasketchs():
    a, b = neardup._permutations(neardup.NUM_PERM, neardup.SEED)
    expected_a, expected_b = MinHash(num_perm=neardup.NUM_PERM, seed=neardup.SEED, scheme="affine32").permutations
    assert a.dtype == b.dtype == np.uint32
    assert a.tolist() == expected_a.tolist() and b.tolist() == expected_b.tolist()


def test_signatures_equal_datasketchs_on_random_and_real_shingle_sets():
    rng = random.Random(19)
    sets = [set(), {b"one"}, neardup.shingles(neardup.words("IOM supports displaced families in Moldova, "
                                                            "Romania and Ukraine with shelter and health care."))]
    sets += [{rng.randbytes(rng.randint(1, 40)) for _ in range(size)} for size in (2, 3, 17, 200, 2000)]
    for shingle_set in sets:
        ours = neardup.minhash(shingle_set)
        assert ours.dtype == np.uint32 and ours.shape == (neardup.NUM_PERM,)
        assert ours.tolist() == datasketch_signature(shingle_set).tolist()
    assert neardup.minhash(set()).tolist() == [2**32 - 1] * neardup.NUM_PERM


def test_fingerprinting_imports_neither_datasketch_nor_scipy():
    code = ("import sys; from pipelines import neardup; "
            "neardup.fingerprint(' '.join(f'word{n}' for n in range(60)), frozenset()); "
            "print(sorted(name for name in ('datasketch', 'scipy') if name in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
