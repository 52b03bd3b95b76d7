"""Near-duplicate recall and false positives per shingle size and threshold (issue 8).

The corpus is the sample sites' releases (content.toml: real-looking IOM text,
many on the same subjects: COVID-19, trafficking, remittances). Each release
with at least three paragraphs is an "original", published by one site: every
original ends with the www.iom.int boilerplate (the "About IOM" paragraph and
the contacts). Copies of each original are made with:

- ``edit3`` / ``edit10``: 3% / 10% of the words edited (each word, with that
  probability, replaced by a word of the corpus, deleted, or followed by an
  inserted word), boilerplate kept;
- ``first``: the first paragraph replaced by another release's first paragraph
  and the boilerplate dropped (a regional site re-introducing the release: the
  sample sites' republished release);
- ``first+edit3``: both.

Each copy is matched as presswatch matches a new item (`pipelines.neardup`:
shingles, MinHash, LSH bands, verification of candidates with the estimate)
against an archive of all originals; recall = the share of copies whose
original is found. False positives: each original matched against the other
originals (unrelated releases sharing the boilerplate), with the boilerplate
left out as presswatch does and, for comparison, kept; also with the originals
cut to their first paragraph (short releases, where boilerplate weighs most).

    .venv/bin/python -m bench.neardup_recall            # the table of docs/performance.md
    .venv/bin/python -m bench.neardup_recall --copies 20 --sizes 2,3,4,5
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipelines import neardup  # noqa: E402
from presswatch.sample_sites.server import load_content  # noqa: E402

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
KINDS = ("edit3", "edit10", "first", "first+edit3")


@dataclass
class Corpus:
    originals: list[list[str]]  # paragraphs, without boilerplate
    boilerplate: list[str]
    vocabulary: list[str]


def corpus() -> Corpus:
    content = load_content()
    originals = [list(article["body"]) for article in content["article"]
                 if len(article.get("body", [])) >= 3 and "duplicate_of" not in article
                 and "republished_from" not in article and article.get("lang") == "en"]
    boilerplate = list(content["boilerplate"]["www.iom.int"]["closing"])
    vocabulary = sorted({word for body in originals for paragraph in body for word in paragraph.split()})
    return Corpus(originals, boilerplate, vocabulary)


def edit(paragraphs: list[str], share: float, rnd: random.Random, vocabulary: list[str]) -> list[str]:
    out = []
    for paragraph in paragraphs:
        result: list[str] = []
        for word in paragraph.split():
            if rnd.random() >= share:
                result.append(word)
                continue
            operation = rnd.random()
            if operation < 0.5:
                result.append(rnd.choice(vocabulary))
            elif operation < 0.75:
                continue
            else:
                result += [word, rnd.choice(vocabulary)]
        out.append(" ".join(result))
    return out


def copies(data: Corpus, per_original: int, seed: int) -> dict[str, list[tuple[int, list[str]]]]:
    """kind -> [(index of the original, copy paragraphs)]."""
    rnd = random.Random(seed)
    made: dict[str, list[tuple[int, list[str]]]] = {kind: [] for kind in KINDS}
    count = len(data.originals)
    for index, body in enumerate(data.originals):
        for _ in range(per_original):
            other = rnd.choice([i for i in range(count) if i != index])
            new_first = [data.originals[other][0], *body[1:]]
            made["edit3"].append((index, edit(body, 0.03, rnd, data.vocabulary) + data.boilerplate))
            made["edit10"].append((index, edit(body, 0.10, rnd, data.vocabulary) + data.boilerplate))
            made["first"].append((index, new_first))
            made["first+edit3"].append((index, edit(new_first, 0.03, rnd, data.vocabulary)))
    return made


class Index:
    """An in-memory stand-in for the archive's lsh_bands / item_signatures tables."""

    def __init__(self, bands: int, rows: int):
        self.bands, self.rows = bands, rows
        self.buckets: dict[tuple[int, int], list[int]] = {}
        self.signatures: dict[int, object] = {}

    def add(self, key: int, signature) -> None:
        self.signatures[key] = signature
        for band, value in enumerate(neardup.band_hashes(signature, self.bands, self.rows)):
            self.buckets.setdefault((band, value), []).append(key)

    def candidates(self, signature) -> set[int]:
        found: set[int] = set()
        for band, value in enumerate(neardup.band_hashes(signature, self.bands, self.rows)):
            found.update(self.buckets.get((band, value), ()))
        return found


def signature_of(paragraphs: list[str], size: int, boilerplate: frozenset[int]):
    found = neardup.fingerprint("\n\n".join(paragraphs), boilerplate, size=size, min_words=1)
    return neardup.from_blob(found.signature) if found.signature else None


def evaluate(data: Corpus, made: dict, size: int, bands: int, rows: int) -> dict:
    """Figures for one shingle size and banding, at every threshold."""
    excluded = frozenset(neardup.paragraph_hash(neardup.words(p)) for p in data.boilerplate)
    full = [body + data.boilerplate for body in data.originals]
    short = [body[:1] + data.boilerplate for body in data.originals]
    results: dict = {"recall": {}, "fp": {}, "lsh_only": {}}
    index = Index(bands, rows)
    for number, body in enumerate(full):
        index.add(number, signature_of(body, size, excluded))
    for kind, pairs in made.items():
        found = {threshold: 0 for threshold in THRESHOLDS}
        for original, paragraphs in pairs:
            signature = signature_of(paragraphs, size, excluded)
            if original in index.candidates(signature):
                estimate = neardup.similarity(signature, index.signatures[original])
                for threshold in THRESHOLDS:
                    found[threshold] += estimate >= threshold
        results["recall"][kind] = {t: found[t] / len(pairs) for t in THRESHOLDS}
    # Unrelated pairs: every pair of originals, boilerplate excluded or kept, full or short.
    variants = (("full", full, excluded), ("full, boilerplate kept", full, frozenset()),
                ("short", short, excluded), ("short, boilerplate kept", short, frozenset()))
    for label, bodies, exclude in variants:
        signatures = [signature_of(body, size, exclude) for body in bodies]
        pairs = list(combinations(range(len(bodies)), 2))
        matched = {threshold: 0 for threshold in THRESHOLDS}
        candidates = 0
        for first, second in pairs:
            a, b = signatures[first], signatures[second]
            if a is None or b is None:
                continue
            shared = set(neardup.band_hashes(a, bands, rows)) & set(neardup.band_hashes(b, bands, rows))
            if not shared:
                continue
            candidates += 1
            estimate = neardup.similarity(a, b)
            for threshold in THRESHOLDS:
                matched[threshold] += estimate >= threshold
        results["fp"][label] = {t: matched[t] / len(pairs) for t in THRESHOLDS}
        results["lsh_only"][label] = candidates / len(pairs)
    return results


def percent(value: float) -> str:
    return f"{100 * value:.1f}"


def report(data: Corpus, made: dict, sizes: list[int], bandings: list[tuple[int, int]]) -> str:
    pairs = len(data.originals) * (len(data.originals) - 1) // 2
    lines = [f"{len(data.originals)} originals ({pairs} unrelated pairs), "
             f"{len(made['edit3'])} copies of each kind; MinHash {neardup.NUM_PERM} permutations", ""]
    header = "| shingle | bands×rows | threshold | " + " | ".join(f"recall {k}" for k in KINDS) \
        + " | false pos. | false pos., short | false pos., boilerplate kept | short, kept |"
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for size in sizes:
        for bands, rows in bandings:
            figures = evaluate(data, made, size, bands, rows)
            for threshold in THRESHOLDS:
                recall = " | ".join(percent(figures["recall"][kind][threshold]) for kind in KINDS)
                fp = " | ".join(percent(figures["fp"][label][threshold]) for label in
                                ("full", "short", "full, boilerplate kept", "short, boilerplate kept"))
                lines.append(f"| {size} | {bands}×{rows} | {threshold:.1f} | {recall} | {fp} |")
            shared = figures["lsh_only"]
            lines.append(f"|   | {bands}×{rows} | unrelated pairs sharing a band: "
                         f"{shared['full']:.2%} (full), {shared['short']:.2%} (short), "
                         f"{shared['full, boilerplate kept']:.2%} (full, boilerplate kept) |" + " |" * 8)
    lines += ["", "All figures in %. recall: copies whose original was found (candidate through the bands, "
              "then estimated similarity >= threshold); false pos.: unrelated pairs judged one story."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.neardup_recall",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=10,
                        help="copies of each original per kind (default 10)")
    parser.add_argument("--sizes", default="2,3,4,5", help="shingle sizes in words (default 2,3,4,5)")
    parser.add_argument("--bandings", default=f"{neardup.BANDS}x{neardup.ROWS}",
                        help=f"LSH bandings BxR, comma-separated (default {neardup.BANDS}x{neardup.ROWS})")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    data = corpus()
    made = copies(data, args.copies, args.seed)
    sizes = [int(size) for size in args.sizes.split(",")]
    bandings = [tuple(int(part) for part in banding.split("x")) for banding in args.bandings.split(",")]
    print(report(data, made, sizes, bandings))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
