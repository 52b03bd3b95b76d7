"""Near-duplicate fingerprints: MinHash signatures of a body's word shingles and their LSH bands.

Pure functions only (no database): `pipelines/stories.py` stores what they
return and looks candidates up in the archive, and the worker pool can run them.

- A body is split into paragraphs (presswatch separates them by a blank line).
  Paragraphs the caller knows to be boilerplate of the item's source (the
  "About IOM" closing, contact blocks: see `pipelines/story_index.py`) are left
  out; each paragraph is identified by `paragraph_hash` of its normalised words.
- The remaining words (case-folded, without diacritics or punctuation) form
  overlapping shingles of `SHINGLE_WORDS` words.
- datasketch's MinHash scheme "affine32" (`NUM_PERM` permutations, fixed seed: signatures stay
  comparable across processes and runs) summarises the shingle set; the share
  of equal values in two signatures estimates the Jaccard similarity of the sets.
- The signature is cut into `BANDS` bands of `ROWS` values; each band hashes to
  a 32-bit integer. Two items are candidates when any band hash is equal, which
  happens with probability 1 - (1 - s^ROWS)^BANDS for similarity s. Candidates
  are then verified against `THRESHOLD` with the estimate.

The defaults were chosen with `bench/neardup_recall.py` (docs/performance.md,
"Near-duplicates"): recall of lightly edited and re-introduced copies against
unrelated releases that share a site's boilerplate.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SHINGLE_WORDS = 3  # words per shingle
NUM_PERM = 128  # MinHash permutations (signature values)
BANDS, ROWS = 32, 4  # LSH banding: BANDS * ROWS <= NUM_PERM
THRESHOLD = 0.4  # estimated Jaccard similarity from which two items are one story
MIN_WORDS = 20  # fewer words (boilerplate left out) give no signature: too short to judge
SEED = 1
# Stored with each signature: a change of any parameter above makes stored
# signatures incomparable, and `presswatch stories --rebuild` recomputes them.
SIGNATURE_VERSION = 1

_WORD = re.compile(r"[^\W_]+")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def _without_combining(match: re.Match[str]) -> str:
    return "".join(ch for ch in match.group() if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The text's words: NFKD, case-folded, combining marks (diacritics) and punctuation dropped."""
    # Only non-ASCII runs are looked at one character at a time (combining marks never are ASCII).
    text = _NON_ASCII_RUN.sub(_without_combining, unicodedata.normalize("NFKD", text.casefold()))
    return _WORD.findall(text)


def paragraphs(body: str | None) -> list[str]:
    """The body's paragraphs (separated by blank lines), stripped, empty ones left out."""
    return [part.strip() for part in re.split(r"\n\s*\n", body or "") if part.strip()]


def paragraph_hash(paragraph_words: Iterable[str]) -> int:
    """A paragraph's identity: a signed 64-bit hash of its normalised words (SQLite INTEGER)."""
    digest = hashlib.blake2b(" ".join(paragraph_words).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# datasketch's "affine32" MinHash scheme (datasketch >= 2.0), computed here with numpy alone:
# `import datasketch` imports scipy (its LSH classes need scipy.integrate), ~50 MB of memory in
# every process that fingerprints, for nothing MinHash uses. tests/test_neardup.py checks that
# `minhash` gives datasketch's `MinHash(..., scheme="affine32")` values exactly.
_MAX_HASH32 = np.uint32(0xFFFFFFFF)
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations (a odd, b) h -> a * h + b mod 2^32, drawn as datasketch draws them."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (a bijection), datasketch's pre-mix of each input hash."""
    shift1, multiplier1, shift2, multiplier2, shift3 = _FMIX32
    values = values ^ (values >> shift1)
    values = values * multiplier1
    values = values ^ (values >> shift2)
    values = values * multiplier2
    return values ^ (values >> shift3)


def shingles(word_list: list[str], size: int = SHINGLE_WORDS) -> set[bytes]:
    """Overlapping ``size``-word shingles (a text shorter than that is one shingle)."""
    if len(word_list) <= size:
        return {" ".join(word_list).encode("utf-8")} if word_list else set()
    return {" ".join(word_list[i:i + size]).encode("utf-8") for i in range(len(word_list) - size + 1)}


def minhash(shingle_set: Iterable[bytes], num_perm: int = NUM_PERM, seed: int = SEED) -> np.ndarray:
    """The MinHash signature (uint32 values) of a shingle set: datasketch's affine32 MinHash
    (each shingle's SHA-1, its first 4 bytes little-endian, pre-mixed, then permuted; the minimum
    per permutation; all 2^32 - 1 for an empty set)."""
    a, b = _permutations(num_perm, seed)
    hashed = [int.from_bytes(hashlib.sha1(shingle).digest()[:4], "little") for shingle in shingle_set]
    if not hashed:
        return np.full(num_perm, _MAX_HASH32, dtype=np.uint32)
    mixed = _fmix32(np.array(hashed, dtype=np.uint32).reshape(-1, 1))
    return (mixed * a + b).min(axis=0).astype(np.uint32)


def band_hashes(signature: np.ndarray, bands: int = BANDS, rows: int = ROWS) -> list[int]:
    """One signed 32-bit hash per band of ``rows`` signature values."""
    data = np.ascontiguousarray(signature, dtype="<u4")
    out = []
    for band in range(bands):
        chunk = data[band * rows:(band + 1) * rows].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=4, salt=band.to_bytes(2, "big")).digest()
        out.append(int.from_bytes(digest, "big", signed=True))
    return out


def to_blob(signature: np.ndarray) -> bytes:
    return np.ascontiguousarray(signature, dtype="<u4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u4")


def similarity(first: np.ndarray, second: np.ndarray) -> float:
    """Estimated Jaccard similarity: the share of equal signature values."""
    if len(first) != len(second) or not len(first):
        return 0.0
    return float(np.count_nonzero(first == second)) / len(first)


def candidate_probability(similarity_: float, bands: int = BANDS, rows: int = ROWS) -> float:
    """How likely two items of this similarity share at least one band."""
    return 1.0 - (1.0 - similarity_ ** rows) ** bands


@dataclass(frozen=True)
class Fingerprint:
    """What near-duplicate matching keeps of one body."""

    paragraph_hashes: tuple[int, ...]  # every paragraph, in order (boilerplate included)
    excluded: frozenset[int]  # the paragraph hashes left out as boilerplate
    words: int  # words shingled
    signature: bytes | None  # NUM_PERM little-endian uint32 values; None: too short to judge
    bands: tuple[int, ...]  # BANDS hashes of the signature (empty without one)
    # `paragraph_hashes(body)`: the paragraphs without words too (None: not known, compute it again)
    every_paragraph: tuple[int, ...] | None = None


def paragraph_hashes(body: str | None) -> tuple[int, ...]:
    return tuple(paragraph_hash(words(paragraph)) for paragraph in paragraphs(body))


def fingerprint(
    body: str | None,
    boilerplate: frozenset[int] | set[int] = frozenset(),
    *,
    size: int = SHINGLE_WORDS,
    num_perm: int = NUM_PERM,
    bands: int = BANDS,
    rows: int = ROWS,
    min_words: int = MIN_WORDS,
) -> Fingerprint:
    """The fingerprint of ``body`` with the paragraphs whose hash is in ``boilerplate`` left out.

    Pure and picklable both ways: `pipelines/stories.py` runs it in the worker pool.
    """
    hashes: list[int] = []
    every: list[int] = []  # what `paragraph_hashes` gives, so that the story index need not hash again
    kept: list[str] = []
    excluded: set[int] = set()
    for paragraph in paragraphs(body):
        paragraph_words = words(paragraph)
        digest = paragraph_hash(paragraph_words)
        every.append(digest)
        if not paragraph_words:
            continue
        hashes.append(digest)
        if digest in boilerplate:
            excluded.add(digest)
        else:
            kept.extend(paragraph_words)
    if len(kept) < min_words:
        return Fingerprint(tuple(hashes), frozenset(excluded), len(kept), None, (), tuple(every))
    signature = minhash(shingles(kept, size), num_perm)
    return Fingerprint(tuple(hashes), frozenset(excluded), len(kept), to_blob(signature),
                       tuple(band_hashes(signature, bands, rows)), tuple(every))
