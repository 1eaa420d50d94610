"""Backups of the logweir database with ClickHouse's own BACKUP and RESTORE.

The server reads and writes the backups itself: on its `backups` disk (declared by the local
stack's config and by deploy/clickhouse/backups.xml for docker compose), or under an S3 prefix
when `backup_s3_url` is set. Each runs ASYNC and is followed in system.backups, which reports
the bytes done as it goes. A backup is a directory named by the user or `<database>-<UTC
time>`, holding ClickHouse's own manifest (`.backup`: the base backup and every file with its
size, written last); `list` reads the manifests on the disk when this machine sees the disk's
directory, so backups made before the server's last start are listed too, and adds what the
server itself made since its start (the only record of S3 backups here).

RESTORE creates tables before the views that read or write them and puts the parts back
without inserting them, so the materialized views neither miss the restored rows nor count
them twice. It never drops anything unless asked (`replace`), and even then only after a
structure-only restore proved the backup opens and holds the database.
"""

from __future__ import annotations

import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from pipeline.errors import LogweirError, SettingsError, first_line
from pipeline.settings import Settings
from pipeline.stack.clickhouse import BACKUP_DISK

# ClickHouse's manifest in each backup directory, written when the backup is complete.
MANIFEST = ".backup"
# Names become directories (or S3 keys) and are quoted into SQL: plain characters only.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
# system.backups is polled this often while an operation runs (a cheap in-memory table).
POLL_SECONDS = 0.5
_STACK_TRACE = re.compile(r",? Stack trace.*$|\s*\(version [^)]*\)", re.DOTALL)
_EXCEPTION_PREFIX = re.compile(r"^Code: \d+\. DB::Exception: ")
_ERROR_CODE = re.compile(r"\(([A-Z_]+)\)\s*$")
LISTING = "`logweir backup list` shows them"


class BackupError(LogweirError):
    pass


# Progress callback: (bytes done, total bytes or 0 while the server does not know yet).
OnProgress = Callable[[int, int], None]


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True, slots=True)
class Store:
    """Where backups are kept: the server's `backups` disk, or an S3 prefix."""

    s3_url: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""

    @property
    def label(self) -> str:
        return self.s3_url or f"the ClickHouse disk `{BACKUP_DISK}`"

    def sql(self, name: str) -> str:
        """The backup `name` as BACKUP/RESTORE address it: Disk(…) or S3(…)."""
        if not self.s3_url:
            return f"Disk({_literal(BACKUP_DISK)}, {_literal(name)})"
        arguments = [f"{self.s3_url}/{name}"]
        if self.s3_access_key_id:
            arguments += [self.s3_access_key_id, self.s3_secret_access_key]
        return f"S3({', '.join(_literal(a) for a in arguments)})"

    def name_of(self, address: str) -> str | None:
        """The backup name in an address as system.backups and manifests write it
        (`Disk('backups', 'x')`, `S3('…/x', 'key', '[HIDDEN]')`), when it is one of ours."""
        if self.s3_url:
            pattern = rf"S3\('{re.escape(self.s3_url)}/({_NAME.pattern})'.*\)"
        else:
            pattern = rf"Disk\('{BACKUP_DISK}', '({_NAME.pattern})'\)"
        m = re.fullmatch(pattern, address)
        return m.group(1) if m else None

    def hide(self, text: str) -> str:
        """`text` without the secret key (server errors quote the statement at times)."""
        secret = self.s3_secret_access_key
        return text.replace(secret, "[HIDDEN]") if secret else text


def store(settings: Settings) -> Store:
    """The store the settings name; one line naming the setting when they are wrong."""
    url = settings.backup_s3_url.strip().rstrip("/")
    key_id = settings.backup_s3_access_key_id.strip()
    secret = settings.backup_s3_secret_access_key.get_secret_value()
    if not url:
        if key_id or secret:
            raise SettingsError(
                "LOGWEIR_BACKUP_S3_ACCESS_KEY_ID/SECRET_ACCESS_KEY are set but "
                "LOGWEIR_BACKUP_S3_URL is not: set the URL of the bucket and prefix, or unset them"
            )
        return Store()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"LOGWEIR_BACKUP_S3_URL={url!r} is not an http(s) URL: write it as "
            "https://BUCKET.s3.REGION.amazonaws.com/PREFIX or http://HOST:PORT/BUCKET/PREFIX"
        )
    if parts.query or parts.fragment or "'" in url or "\\" in url:
        raise SettingsError(
            f"LOGWEIR_BACKUP_S3_URL={url!r} has a query, fragment or quote: give the bucket and "
            "prefix only"
        )
    if bool(key_id) != bool(secret):
        raise SettingsError(
            "set both LOGWEIR_BACKUP_S3_ACCESS_KEY_ID and LOGWEIR_BACKUP_S3_SECRET_ACCESS_KEY, "
            "or neither (the server's own S3 credentials)"
        )
    return Store(url, key_id, secret)


def check_name(name: str, what: str = "backup name") -> str:
    if not _NAME.fullmatch(name):
        raise BackupError(
            f"{what} {name!r}: use letters, digits, '.', '_' and '-' (200 at most), starting "
            "with a letter or digit"
        )
    return name


def checked(settings: Settings, name: str | None = None, base: str | None = None) -> Store:
    """The store, with the names given checked: callers run it before connecting, so a typo
    costs no server round trip."""
    backups = store(settings)
    if name is not None:
        check_name(name)
    if base is not None:
        check_name(base, "base backup name")
    return backups


def default_name(database: str, now: datetime | None = None) -> str:
    """`<database>-<UTC time>`: sorts by time, and says what it holds."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    return check_name(f"{database}-{when:%Y%m%dT%H%M%SZ}")


# --- what is there -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BackupInfo:
    name: str
    # "complete", "in progress" (the server is writing it) or "incomplete" (a directory
    # without manifest: interrupted, or being written by a server that is not this one).
    status: str
    # When it was completed (started, while in progress), UTC.
    made: datetime | None
    databases: tuple[str, ...]
    # The backup it was made on ("" for a full backup).
    base: str
    # Bytes of data a restore puts back, the base's share included; None when unknown.
    size: int | None
    # Bytes this backup holds itself: less than `size` for an incremental backup.
    stored: int | None


def disk_directory(client: Client) -> Path:
    """Where the server keeps its backups disk (the path in the server's own file system)."""
    rows = client.query(
        "SELECT path FROM system.disks WHERE name = {disk:String}", parameters={"disk": BACKUP_DISK}
    ).result_rows
    if not rows:
        raise BackupError(
            f"the ClickHouse server has no disk `{BACKUP_DISK}` for backups: restart the local "
            "stack (`logweir stack down && logweir stack up`), or add deploy/clickhouse/"
            "backups.xml to the server's config.d, or set LOGWEIR_BACKUP_S3_URL"
        )
    return Path(rows[0][0])


def read_manifest(directory: Path, backups: Store) -> BackupInfo:
    """A backup directory as the server left it (see MANIFEST)."""
    stored = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
    manifest = directory / MANIFEST
    if not manifest.is_file():
        return BackupInfo(directory.name, "incomplete", None, (), "", None, stored)
    root = ET.parse(manifest).getroot()
    databases, size = [], 0
    for entry in root.iterfind("contents/file"):
        size += int(entry.findtext("size") or 0)
        m = re.fullmatch(r"metadata/([^/]+)\.sql", entry.findtext("name") or "")
        if m:
            databases.append(unquote(m.group(1)))
    base_address = root.findtext("base_backup") or ""
    return BackupInfo(
        name=directory.name,
        status="complete",
        made=datetime.fromtimestamp(manifest.stat().st_mtime, UTC),
        databases=tuple(sorted(databases)),
        base=backups.name_of(base_address) or base_address,
        size=size,
        stored=stored,
    )


def _made_by_server(client: Client, backups: Store) -> list[BackupInfo]:
    """The backups this server made since it started (system.backups forgets at a restart)."""
    rows = client.query(
        "SELECT name, status, toUnixTimestamp(if(end_time > start_time, end_time, start_time)), "
        "base_backup_name, total_size, uncompressed_size FROM system.backups "
        "WHERE status IN ('CREATING_BACKUP', 'BACKUP_CREATED') ORDER BY start_time"
    ).result_rows
    found = []
    for address, status, made, base, size, stored in rows:
        name = backups.name_of(address)
        if name is None:
            continue
        done = status == "BACKUP_CREATED"
        found.append(
            BackupInfo(
                name=name,
                status="complete" if done else "in progress",
                made=datetime.fromtimestamp(made, UTC),
                databases=(),
                base=backups.name_of(base) or base,
                size=size if done else None,
                stored=stored if done else None,
            )
        )
    return found


def list_backups(client: Client, settings: Settings) -> list[BackupInfo]:
    """Every backup of the store this machine can know of, oldest first."""
    backups = store(settings)
    found: dict[str, BackupInfo] = {}
    if not backups.s3_url:
        directory = disk_directory(client)
        if directory.is_dir():
            for entry in directory.iterdir():
                if entry.is_dir() and _NAME.fullmatch(entry.name):
                    found[entry.name] = read_manifest(entry, backups)
    for info in _made_by_server(client, backups):
        known = found.get(info.name)
        if known is None:
            found[info.name] = info
        elif info.status == "in progress" and known.status == "incomplete":
            found[info.name] = replace(known, status="in progress", made=info.made)
    return sorted(found.values(), key=lambda b: b.made or datetime.max.replace(tzinfo=UTC))


def visible_directory(client: Client, backups: Store) -> Path | None:
    """The backups disk's directory when this machine sees it (the local stack), else None:
    S3, or a server elsewhere (docker), where only the server can tell what is there."""
    if backups.s3_url:
        return None
    directory = disk_directory(client)
    return directory if directory.is_dir() else None


def _complete(directory: Path, name: str) -> bool:
    entry = directory / name
    return entry.is_dir() and (entry / MANIFEST).is_file()


# --- backup and restore --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operation:
    """A BACKUP or RESTORE as system.backups reports it when it ended."""

    id: str
    name: str
    seconds: float
    files: int
    # Bytes of data in the backup, its base's share included.
    size: int
    # Bytes the backup holds itself (what a BACKUP wrote).
    stored: int


def tables(client: Client, database: str) -> dict[str, int]:
    """Tables of `database` (views left out) with the rows ClickHouse counts in their parts."""
    rows = client.query(
        "SELECT name, total_rows FROM system.tables WHERE database = {db:String} "
        "AND engine NOT LIKE '%View' ORDER BY name",
        parameters={"db": database},
    ).result_rows
    return {name: int(total or 0) for name, total in rows}


def _table_count(client: Client, database: str) -> int:
    return int(
        client.query(
            "SELECT count() FROM system.tables WHERE database = {db:String}",
            parameters={"db": database},
        ).result_rows[0][0]
    )


def backup(
    client: Client,
    settings: Settings,
    name: str | None = None,
    base: str | None = None,
    on_progress: OnProgress | None = None,
) -> Operation:
    """BACKUP DATABASE to the store as `name` (default `<database>-<UTC time>`), incremental
    on the backup `base` when given. `client` may select no database."""
    database = settings.clickhouse_database
    backups = checked(settings, name, base)
    name = name or default_name(database)
    if _table_count(client, database) == 0:
        raise BackupError(
            f"database {database!r} has no tables on {settings.clickhouse_url}: nothing to back "
            "up (is LOGWEIR_CLICKHOUSE_DATABASE right?)"
        )
    directory = visible_directory(client, backups)
    if directory is not None:
        # Checked here too: the server's own errors arrive only after it started.
        if (directory / name).exists():
            raise BackupError(_exists(name, backups))
        if base is not None and not _complete(directory, base):
            raise BackupError(f"base backup {base} not found in {backups.label}: {LISTING}")
    statement = f"BACKUP DATABASE {_identifier(database)} TO {backups.sql(name)}"
    if base is not None:
        statement += f" SETTINGS base_backup = {backups.sql(base)}"
    return _run(client, backups, statement + " ASYNC", name, base, on_progress)


def restore(
    client: Client,
    settings: Settings,
    name: str,
    into: str | None = None,
    replace_tables: bool = False,
    on_progress: OnProgress | None = None,
) -> Operation:
    """RESTORE the database of the backup `name` as `into` (default: the configured
    database). A target that has tables is refused unless `replace_tables`, which drops it
    (after proving the backup restores). `client` may select no database."""
    backups = checked(settings, name)
    target = into or settings.clickhouse_database
    source = settings.clickhouse_database
    directory = visible_directory(client, backups)
    if directory is not None:
        if not _complete(directory, name):
            raise BackupError(f"backup {name} not found in {backups.label}: {LISTING}")
        # A backup of another database (made with other settings) restores all the same.
        held = read_manifest(directory / name, backups).databases
        if source not in held and len(held) == 1:
            source = held[0]
    existing = _table_count(client, target)
    if existing and not replace_tables:
        raise BackupError(
            f"database {target!r} already has {existing} tables and views: restore into "
            f"another with --as NAME, or pass --replace to drop {target!r} and its rows first "
            "(stop the workers writing to it before)"
        )

    def restoring(into: str, settings_clause: str = "") -> str:
        return (
            f"RESTORE DATABASE {_identifier(source)} AS {_identifier(into)} "
            f"FROM {backups.sql(name)}{settings_clause} ASYNC"
        )

    if existing:
        # Prove the backup opens and holds the database before anything is dropped.
        check = f"{target}_restore_check_{uuid.uuid4().hex[:8]}"
        try:
            statement = restoring(check, " SETTINGS structure_only = true")
            _run(client, backups, statement, name, None, None, source)
        finally:
            client.command(f"DROP DATABASE IF EXISTS {_identifier(check)} SYNC")
        client.command(f"DROP DATABASE {_identifier(target)} SYNC")
    return _run(client, backups, restoring(target), name, None, on_progress, source)


def _run(
    client: Client,
    backups: Store,
    statement: str,
    name: str,
    base: str | None,
    on_progress: OnProgress | None,
    source: str = "",
) -> Operation:
    """Start an ASYNC BACKUP/RESTORE and follow it in system.backups until it ends."""
    restoring = statement.startswith("RESTORE")
    started = time.monotonic()
    try:
        operation_id = str(client.query(statement).result_rows[0][0])
    except ClickHouseError as exc:
        raise BackupError(_explain(first_line(exc, 1000), backups, name, base, source)) from exc
    while True:
        rows = client.query(
            "SELECT status, error, num_files, total_size, uncompressed_size, bytes_read "
            "FROM system.backups WHERE id = {id:String}",
            parameters={"id": operation_id},
        ).result_rows
        if not rows:
            raise BackupError(f"ClickHouse lost track of {'restore' if restoring else 'backup'}")
        status, error, files, size, stored, read = rows[0]
        if status.endswith("FAILED") or status.endswith("CANCELLED"):
            raise BackupError(_explain(error or status, backups, name, base, source))
        if status in ("BACKUP_CREATED", "RESTORED"):
            return Operation(operation_id, name, time.monotonic() - started, files, size, stored)
        if on_progress is not None:
            on_progress(read if restoring else stored, size)
        time.sleep(POLL_SECONDS)


def _explain(error: str, backups: Store, name: str, base: str | None, source: str) -> str:
    """One line for a server error about a backup, saying what to do."""
    text = _STACK_TRACE.sub("", first_line(RuntimeError(backups.hide(error)), 1000))
    text = _EXCEPTION_PREFIX.sub("", text).strip()
    m = _ERROR_CODE.search(text)
    code = m.group(1) if m else ""
    if code == "BACKUP_ALREADY_EXISTS":
        return _exists(name, backups)
    if code == "BACKUP_NOT_FOUND":
        missing = base if base is not None and re.search(f"[/']{re.escape(base)}'", text) else name
        which = "base backup" if missing == base else "backup"
        return f"{which} {missing} not found in {backups.label}: {LISTING}"
    if code == "BACKUP_ENTRY_NOT_FOUND" and source:
        return (
            f"backup {name} holds no database {source!r}: set LOGWEIR_CLICKHOUSE_DATABASE to "
            "the database it was made of"
        )
    if code == "ACCESS_DENIED":
        return (
            f"{text}: the ClickHouse user needs BACKUP on the database to back it up, and "
            "CREATE/INSERT (DROP DATABASE for --replace) to restore it"
        )
    return f"backup {name}: {text}"


def _exists(name: str, backups: Store) -> str:
    return f"backup {name} already exists in {backups.label}: choose another --name"
