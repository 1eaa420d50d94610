"""`python -m pipeline.bench.realworld`: recognition and grouping on the labelled real-world set.

Every labelled line of tests/fixtures/realworld/<family>.jsonl goes through the real ingestor
(`Ingestor(Settings()).process`: detection, parsing and every enricher, templates included)
as one Kafka message with a fixed Kafka time. Per family and on average it prints:

- `!text`: lines recognised by a format other than the fallback `text`;
- `time`: of the lines that carry a time, those whose time was read from the line and is the
  labelled one (at the label's precision; a label without a year compares month to second);
- `level`: of the lines that carry a level, those whose severity is the labelled one;
- `GA`: grouping accuracy (Zhu et al., ICSE 2019): a line counts iff the set of lines sharing
  its TemplateId is exactly the set of lines of its true event;
- `tmpl/ev`: TemplateIds found against true events;
- `drain3`: the same grouping accuracy for drain3's `TemplateMiner()` (default configuration)
  fed the same raw lines, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.ingest.ingestor import Ingestor
from pipeline.settings import Settings
from schemas.records import SEVERITY_TEXT, LogRecord

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "realworld"
# A fixed Kafka time for every line (2026-01-01T00:00:00Z): runs compare exactly.
KAFKA_MS = 1_767_225_600_000


@dataclass
class Labelled:
    line: str
    event: str
    format: str
    time: str | None
    level: str | None


@dataclass
class FamilyResult:
    family: str
    lines: int
    events: int
    non_text: float  # fractions 0..1
    format_ok: float
    time_ok: float | None  # None: no line of the family carries a time
    level_ok: float | None
    grouping: float
    templates: int
    drain3: float | None = None
    drain3_templates: int | None = None
    misses: dict[str, list[str]] = field(default_factory=dict)  # a few examples per measure


def load(corpus: Path = CORPUS) -> dict[str, list[Labelled]]:
    """The labelled lines of every family, by family name."""
    families: dict[str, list[Labelled]] = {}
    for path in sorted(corpus.glob("*.jsonl")):
        rows = [json.loads(text) for text in path.read_text().splitlines() if text.strip()]
        families[path.stem] = [
            Labelled(row["line"], row["event"], row["format"], row["time"], row["level"])
            for row in rows
        ]
    return families


def grouping_accuracy(truth: Sequence[Hashable], found: Sequence[Hashable]) -> float:
    """Zhu et al.'s grouping accuracy: the share of lines whose found group is exactly their
    true group."""
    by_truth: dict[Hashable, set[int]] = defaultdict(set)
    by_found: dict[Hashable, set[int]] = defaultdict(set)
    for index, (true, got) in enumerate(zip(truth, found, strict=True)):
        by_truth[true].add(index)
        by_found[got].add(index)
    correct = sum(
        1 for true, got in zip(truth, found, strict=True) if by_truth[true] == by_found[got]
    )
    return correct / len(truth) if truth else 1.0


def record_time_ns(record: LogRecord) -> int | None:
    """The time the pipeline read from the line: None when it fell back to the Kafka time."""
    if "time_missing" in record.flags:
        return None
    if "time_expired" in record.flags:  # stored at the Kafka time, its own time kept
        return int(record.attributes["logweir.original_time_ns"])
    if "time_out_of_range" in record.flags:
        return None
    return record.timestamp_ns


def time_matches(label: str, ns: int) -> bool:
    """The label (`2005-06-03T15:42:50.675872Z`, or `--12-10T06:55:46Z` without a year) at its
    own precision against UTC nanoseconds."""
    got = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    fraction = f"{ns % 1_000_000_000:09d}"
    text = label.removesuffix("Z")
    whole, _, digits = text.partition(".")
    if whole.startswith("--"):
        if got.strftime("--%m-%dT%H:%M:%S") != whole:
            return False
    elif got.strftime("%Y-%m-%dT%H:%M:%S") != whole:
        return False
    return fraction[: len(digits)] == digits


def evaluate(
    corpus: Path = CORPUS, drain: bool = True, families: Iterable[str] | None = None
) -> list[FamilyResult]:
    """The measures of every family (or of the named ones)."""
    wanted = set(families) if families is not None else None
    results = []
    for family, rows in load(corpus).items():
        if wanted is not None and family not in wanted:
            continue
        results.append(_family(family, rows, drain))
    return results


def _family(family: str, rows: list[Labelled], drain: bool) -> FamilyResult:
    ingestor = Ingestor(Settings())
    records: list[LogRecord] = []
    for offset, row in enumerate(rows):
        message = ingestor.message("logs.raw", 0, offset, KAFKA_MS, row.line.encode(), None, None)
        outcomes = ingestor.process(message)
        record = outcomes[0] if len(outcomes) == 1 else None
        if not isinstance(record, LogRecord):
            raise RuntimeError(f"{family}: {row.line!r} did not become one record: {outcomes}")
        records.append(record)
    misses: dict[str, list[str]] = defaultdict(list)
    non_text = format_ok = time_ok = time_total = level_ok = level_total = 0
    for row, record in zip(rows, records, strict=True):
        non_text += record.format != "text"
        if record.format == row.format:
            format_ok += 1
        else:
            misses["format"].append(f"{record.format}: {row.line}")
        if row.time is not None:
            time_total += 1
            ns = record_time_ns(record)
            if ns is not None and time_matches(row.time, ns):
                time_ok += 1
            else:
                misses["time"].append(f"{row.time} got {ns}: {row.line}")
        if row.level is not None:
            level_total += 1
            if SEVERITY_TEXT[record.severity] == row.level:
                level_ok += 1
            else:
                misses["level"].append(f"{row.level} got {record.severity.name}: {row.line}")
    truth = [row.event for row in rows]
    found = [record.template_id for record in records]
    result = FamilyResult(
        family=family,
        lines=len(rows),
        events=len(set(truth)),
        non_text=non_text / len(rows),
        format_ok=format_ok / len(rows),
        time_ok=time_ok / time_total if time_total else None,
        level_ok=level_ok / level_total if level_total else None,
        grouping=grouping_accuracy(truth, found),
        templates=len(set(found)),
        misses={kind: lines[:5] for kind, lines in misses.items()},
    )
    if drain:
        clusters = drain3_clusters([row.line for row in rows])
        result.drain3 = grouping_accuracy(truth, clusters)
        result.drain3_templates = len(set(clusters))
    return result


def drain3_clusters(lines: list[str]) -> list[int]:
    """drain3's cluster id per line, with its default configuration, fed the raw lines."""
    from drain3 import TemplateMiner  # the dev extra: only the benchmark measures against it

    # Without a drain3.ini it says so at WARNING on every TemplateMiner(): defaults are meant.
    logging.getLogger("drain3").setLevel(logging.ERROR)
    miner = TemplateMiner()
    return [miner.add_log_message(line)["cluster_id"] for line in lines]


def average(results: list[FamilyResult]) -> dict[str, float | None]:
    """Macro averages over families (each family counts once, as in Zhu et al.)."""

    def mean(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return sum(known) / len(known) if known else None

    return {
        "non_text": mean([r.non_text for r in results]),
        "format_ok": mean([r.format_ok for r in results]),
        "time_ok": mean([r.time_ok for r in results]),
        "level_ok": mean([r.level_ok for r in results]),
        "grouping": mean([r.grouping for r in results]),
        "drain3": mean([r.drain3 for r in results]),
    }


def table(results: list[FamilyResult]) -> str:
    """The per-family table and its average line, as plain text."""

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}"

    def ga(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    head = (
        f"{'family':<14}{'lines':>6}{'!text%':>8}{'format%':>9}{'time%':>8}{'level%':>8}"
        f"{'GA':>7}{'tmpl/ev':>10}{'drain3':>8}{'d3 tmpl':>8}"
    )
    out = [head, "-" * len(head)]
    for r in results:
        out.append(
            f"{r.family:<14}{r.lines:>6}{pct(r.non_text):>8}{pct(r.format_ok):>9}"
            f"{pct(r.time_ok):>8}{pct(r.level_ok):>8}{ga(r.grouping):>7}"
            f"{f'{r.templates}/{r.events}':>10}{ga(r.drain3):>8}"
            f"{'-' if r.drain3_templates is None else r.drain3_templates:>8}"
        )
    avg = average(results)
    out.append("-" * len(head))
    out.append(
        f"{'average':<14}{sum(r.lines for r in results):>6}{pct(avg['non_text']):>8}"
        f"{pct(avg['format_ok']):>9}{pct(avg['time_ok']):>8}{pct(avg['level_ok']):>8}"
        f"{ga(avg['grouping']):>7}{'':>10}{ga(avg['drain3']):>8}"
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench.realworld", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder of <family>.jsonl")
    parser.add_argument("--family", action="append", help="only this family (repeatable)")
    parser.add_argument("--no-drain3", action="store_true", help="skip the drain3 comparison")
    parser.add_argument("--misses", action="store_true", help="print a few misses per family")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results = evaluate(args.corpus, drain=not args.no_drain3, families=args.family)
    print(report(results, args.misses))
    if args.json:
        args.json.write_text(
            json.dumps({"families": [asdict(r) for r in results], "average": average(results)})
        )
    return 0


def report(results: list[FamilyResult], misses: bool = False) -> str:
    """The table, and with `misses` a few lines each measure missed per family."""
    text = table(results)
    if misses:
        for r in results:
            for kind, lines in r.misses.items():
                text += f"\n\n{r.family}, {kind} missed:\n  " + "\n  ".join(lines)
    return text


if __name__ == "__main__":
    sys.exit(main())
