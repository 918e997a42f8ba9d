"""Accuracy of patient matching on synthetic records with known truth, against an exact rule.

Run from the repository root: ``python -m bench.mpi_accuracy`` (about a minute on two cores for
the default 50,000 records). It prints its figures and writes nothing.

Two data sets from different seeds: the model is trained (u from random pairs, m by EM, term
frequencies) on the first and measured on the second, so nothing is tuned on the records it is
scored on. Both the shipped default model and the trained model are measured, each with and
without NHS numbers on the records.

Measures are pairwise, against every true duplicate pair in the data set (pairs that blocking
never brought together count as missed):

* auto-links: pairs the matcher would link without a clerk: precision, recall, F1;
* auto-links plus queue: pairs that would at least reach a clerk: precision, recall, F1;
* queue: pairs in the review zone (the clerks' work), also per 1,000 records;
* linked people: the auto-links taken as the index takes them, records joined through a chain
  of links becoming one person, scored pairwise again (shown for information);
* baseline: the exact rule "forename + surname + date of birth equal" (normalised: case,
  accents and punctuation ignored), run in the same process on the same records.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bench.synthetic_people import SyntheticDataset, generate, progress_bar
from mpi.matching.blocking import blocking_keys, candidate_pairs
from mpi.matching.decide import DEFAULT_THRESHOLDS, Thresholds, score_pair
from mpi.matching.prepared import PreparedRecord, prepare
from mpi.matching.training import train_model
from mpi.matching.weights import DEFAULT_MODEL, MatchModel

TARGETS = {
    "auto-link precision": 0.999,
    "recall of auto-links plus queue": 0.98,
    "F1 of auto-links without NHS numbers": 0.95,
}


@dataclass(frozen=True)
class Scores:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pairwise(predicted: set[tuple[int, int]], truth: set[tuple[int, int]]) -> Scores:
    hits = len(predicted & truth)
    return Scores(hits, len(predicted) - hits, len(truth) - hits)


def baseline_pairs(prepared: Sequence[PreparedRecord]) -> set[tuple[int, int]]:
    """The exact rule: same first forename, surname and date of birth (all present)."""
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for index, record in enumerate(prepared):
        if record.forename and record.surname and record.dob is not None:
            groups[(record.forename, record.surname, record.dob_digits)].append(index)
    pairs: set[tuple[int, int]] = set()
    for members in groups.values():
        pairs.update(
            (members[x], members[y])
            for x in range(len(members))
            for y in range(x + 1, len(members))
        )
    return pairs


@dataclass(frozen=True)
class Evaluation:
    auto: Scores
    auto_or_queue: Scores
    linked: Scores
    queue: int
    vetoed_true_pairs: int
    false_links: Counter[str]
    missed: Counter[str]
    scored_pairs: int
    seconds: float


def _describe(dataset: SyntheticDataset, pairs: Iterable[tuple[int, int]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for i, j in pairs:
        tags = sorted(set(dataset.tags[i]) | set(dataset.tags[j]))
        counts[" + ".join(tags) or "(no slip)"] += 1
    return counts


def linked_scores(
    links: set[tuple[int, int]], person_ids: Sequence[int], truth: set[tuple[int, int]]
) -> Scores:
    """Pairwise scores of the people the auto-links make: records joined through a chain of
    links (a-b, b-c) end up as one person, as they would in the index."""
    parent = list(range(len(person_ids)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in links:
        a, b = root(i), root(j)
        if a != b:
            parent[a] = b
    members: dict[int, list[int]] = defaultdict(list)
    for index in range(len(person_ids)):
        members[root(index)].append(index)
    predicted = hits = 0
    for group in members.values():
        size = len(group)
        predicted += size * (size - 1) // 2
        per_person = Counter(person_ids[i] for i in group)
        hits += sum(n * (n - 1) // 2 for n in per_person.values())
    return Scores(hits, predicted - hits, len(truth) - hits)


def evaluate(
    dataset: SyntheticDataset,
    prepared: Sequence[PreparedRecord],
    candidates: set[tuple[int, int]],
    truth: set[tuple[int, int]],
    model: MatchModel,
    thresholds: Thresholds,
) -> Evaluation:
    started = time.perf_counter()
    auto: set[tuple[int, int]] = set()
    queue: set[tuple[int, int]] = set()
    vetoed = 0
    for i, j in candidates:
        decision = score_pair(prepared[i], prepared[j], model, thresholds)
        if decision.zone == "auto_link":
            auto.add((i, j))
        elif decision.zone == "review":
            queue.add((i, j))
        if decision.vetoes and (i, j) in truth:
            vetoed += 1
    seconds = time.perf_counter() - started
    return Evaluation(
        auto=pairwise(auto, truth),
        auto_or_queue=pairwise(auto | queue, truth),
        linked=linked_scores(auto, dataset.person_ids, truth),
        queue=len(queue),
        vetoed_true_pairs=vetoed,
        false_links=_describe(dataset, auto - truth),
        missed=_describe(dataset, truth - auto - queue),
        scored_pairs=len(candidates),
        seconds=seconds,
    )


def _row(label: str, scores: Scores, extra: str = "") -> str:
    return (
        f"  {label:<30} {scores.precision:>9.4f} {scores.recall:>7.4f} {scores.f1:>7.4f}"
        f" {scores.true_positives:>7,} {scores.false_positives:>6,} {scores.false_negatives:>6,}"
        f"  {extra}"
    )


def _header() -> str:
    return f"  {'':<30} {'precision':>9} {'recall':>7} {'F1':>7} {'TP':>7} {'FP':>6} {'FN':>6}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="MPI matching accuracy on synthetic records")
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--train-seed", type=int, default=1)
    parser.add_argument("--test-seed", type=int, default=2)
    parser.add_argument("--auto-link", type=float, default=DEFAULT_THRESHOLDS.auto_link)
    parser.add_argument("--review", type=float, default=DEFAULT_THRESHOLDS.review)
    parser.add_argument("--details", type=int, default=6, help="slip combinations listed")
    args = parser.parse_args(argv)
    thresholds = Thresholds(auto_link=args.auto_link, review=args.review)

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    started = time.perf_counter()
    train = generate(args.records, args.train_seed, progress=progress_bar("training set"))
    test = generate(args.records, args.test_seed, progress=progress_bar("test set    "))
    say("training the model on the training set")
    trained = train_model(train.records, seed=args.train_seed, progress=say)
    models = {"default model": DEFAULT_MODEL, "trained model": trained}

    print(
        f"MPI matching accuracy: {len(test):,} test records ({len(set(test.person_ids)):,} "
        f"people, {len(test.true_pairs()):,} true duplicate pairs); model trained on seed "
        f"{args.train_seed}, measured on seed {args.test_seed}; thresholds: auto-link "
        f"{thresholds.auto_link:g}, review {thresholds.review:g} bits"
    )
    summary: dict[str, dict[str, Evaluation]] = {}
    modes = (("with NHS numbers", test), ("without NHS numbers", test.without_nhs_numbers()))
    for mode, dataset in modes:
        say(f"blocking and scoring {mode}")
        prepared = [prepare(r) for r in dataset.records]
        truth = dataset.true_pairs()
        block_started = time.perf_counter()
        keys = sum(len(blocking_keys(p)) for p in prepared)
        candidates = candidate_pairs(prepared)
        block_seconds = time.perf_counter() - block_started
        blocked = len(candidates & truth) / len(truth)
        base = pairwise(baseline_pairs(prepared), truth)
        print()
        print(
            f"{mode}: {len(candidates):,} candidate pairs from blocking "
            f"({keys / len(prepared):.1f} keys per record, {block_seconds:.1f} s); "
            f"blocking recall {blocked:.4f}"
        )
        print(_header())
        print(_row("baseline exact rule", base))
        summary[mode] = {}
        for name, model in models.items():
            result = evaluate(dataset, prepared, candidates, truth, model, thresholds)
            summary[mode][name] = result
            f1_ratio = result.auto.f1 / base.f1 if base.f1 else float("inf")
            recall_ratio = result.auto_or_queue.recall / base.recall if base.recall else 0.0
            print(_row(f"{name}: auto-links", result.auto, f"F1 x{f1_ratio:.2f} baseline"))
            print(
                _row(
                    f"{name}: auto-links + queue",
                    result.auto_or_queue,
                    f"recall x{recall_ratio:.2f} baseline; queue {result.queue:,} pairs "
                    f"({1000 * result.queue / len(dataset):.0f} per 1,000 records)",
                )
            )
            print(
                _row(
                    f"{name}: linked people",
                    result.linked,
                    f"{result.vetoed_true_pairs:,} true pairs vetoed to review; "
                    f"{result.scored_pairs / result.seconds:,.0f} pairs scored/s",
                )
            )
        if args.details:
            detail = summary[mode]["trained model"]
            print(f"  trained model, false auto-links by case ({mode}):")
            for text, count in detail.false_links.most_common(args.details):
                print(f"    {count:>5}  {text}")
            print(f"  trained model, true pairs neither linked nor queued, by case ({mode}):")
            for text, count in detail.missed.most_common(args.details):
                print(f"    {count:>5}  {text}")

    print()
    print("targets (auto-links and auto-links + queue as direct pairs; worst of both modes):")
    for name in models:
        values = {
            "auto-link precision": min(summary[m][name].auto.precision for m in summary),
            "recall of auto-links plus queue": min(
                summary[m][name].auto_or_queue.recall for m in summary
            ),
            "F1 of auto-links without NHS numbers": summary["without NHS numbers"][name].auto.f1,
        }
        for target, wanted in TARGETS.items():
            got = values[target]
            verdict = "met" if got >= wanted else "NOT met"
            print(f"  {name}: {target} >= {wanted}: {got:.4f} ({verdict})")
    print(f"total time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
