"""Live tail: every new otel_logs row, once, in order per Kafka partition, for `logweir tail`
and the intake's `GET /v1/tail` (`follow`, `follow_batches`; `parse_query` for URL parameters).

Why not a time cursor. Rows become visible by insert, not by event time: the worker inserts one
batch per insert with the rows of several partitions, batches of different partitions are not
in time order, and a late event carries an old `Timestamp`. A cursor on `TimestampTime` either
skips a row inserted after a poll with an older time, or, with a look-back window, shows it twice
and still skips what is later than the window. The Kafka coordinates alone do not help either:
they are not in the table's key (ServiceName, TimestampTime, Timestamp), so "offset > cursor"
reads every part of the table on every poll.

What the cursor is. ClickHouse numbers the parts of a (non-replicated) MergeTree table: each
insert makes a part per table partition (per event day here), and each part's block number comes
from one counter per table, taken under the lock that makes the part visible; so blocks become
visible in number order, and a snapshot that holds block N holds every block below it. A merged
part is named `<partition>_<min block>_<max block>_<level>` and holds exactly the rows of the
blocks in that range, all of one day. The follower keeps:

- `read_through` (B): every block up to B has been read in full. A poll reads only the parts
  whose name's max block is above B (ClickHouse prunes parts on `_part` before reading), up to a
  bound U chosen from `system.parts` so one poll reads about `ROWS_PER_POLL` rows: no scans of
  old parts, whatever the rows' event times.
- `checked_through` (P ≥ B) and `marks`: per (topic, partition, incarnation, day), the Kafka
  coordinate (offset, event index) of the last row shown. A part whose min block is above P
  holds only blocks never read: all its rows are new. A part reaching down to P or below (a
  merge of new blocks into read ones, or blocks a cut-short poll read in part) may hold rows
  already shown: there a row is new only if its coordinate is above its mark. Within one day, a
  partition's rows become visible in offset order: one worker owns the partition, its batches
  are inserted one after another, and a batch's rows of one day are one part. So a row already
  shown is at or below its mark and an unshown one above it. (Across days that order does not
  hold: see below; hence a mark per day.)
- `floor`: per (topic, partition, incarnation), the highest offset stored when the tail started
  (`ingest_progress`); rows at or below it are history, shown only by `since`, never live. B and
  P start at the last block that had settled before the floor was read: a part last written
  over a minute before (SETTLE_SECONDS), by an insert long finished. A later block may hold rows
  of an insert still running when the floor was read: ClickHouse makes a table's part and its
  materialized views' parts visible one after the other, in either order, so those rows can be
  in otel_logs and not yet in the floor. The first poll reads every block above B and shows
  only rows above the floor, so those rows are shown live, and the history rows beside them
  are not shown twice.

A poll lists the parts, reads the rows matching the filters that are new by the rules above,
ordered by (partition, coordinate) with a LIMIT; then the marks move to the last row shown, P to
U, and B to U only if the LIMIT did not cut the result. A cut poll showed a prefix of each
partition's new rows, so the rest is above the marks and the next poll finds it. Nothing is
skipped: a row becomes visible in a block above the B of every poll that ran before, so a later
poll reads it in a part above B, where it is new by block or by mark. Nothing is shown twice: a
shown row is at or below its mark, and every part that can hold it again reaches down to P.
Each poll's rows are interleaved by event time across partitions, each partition in its order.

Order across days. A batch holding a late event (another day) is stored as a part per day, and
ClickHouse makes those visible one after the other, not at once: a poll that falls between them
shows the later offsets of one day before the earlier offsets of the other, which the next poll
shows. Nothing is lost (the marks are per day) but, in that instant, a partition's rows come out
of offset order across the two days; within a day they never do.

History (`since`): the rows stored before the start (offsets at or below the floor) with
`Timestamp >= since`, by event time, in windows of time that the table's key prunes, before the
live rows.

Every value a user gives reaches ClickHouse as a server-side query parameter; the SQL is fixed
fragments chosen by which filters are set, run read-only.
"""

from pipeline.query.tail.cursor import Cursor, Follower
from pipeline.query.tail.filters import (
    QUERY_PARAMETERS,
    Filters,
    TailError,
    TailFilterError,
    parse_attribute,
    parse_query,
    parse_severity,
    parse_since,
    parse_template_id,
)
from pipeline.query.tail.rows import Row
from pipeline.query.tail.stream import follow, follow_batches

__all__ = [
    "QUERY_PARAMETERS",
    "Cursor",
    "Filters",
    "Follower",
    "Row",
    "TailError",
    "TailFilterError",
    "follow",
    "follow_batches",
    "parse_attribute",
    "parse_query",
    "parse_severity",
    "parse_since",
    "parse_template_id",
]
