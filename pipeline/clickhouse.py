"""Connecting to ClickHouse with errors that say what to do."""

from __future__ import annotations

from typing import Any

from clickhouse_connect import get_client
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from pipeline.errors import SinkUnavailable, first_line
from pipeline.settings import Settings


def connect(settings: Settings, database: str | None = None, *, inserts: bool = False) -> Client:
    """A client for the configured server; `database=""` connects without selecting one.

    `inserts`: a client for the sink's bulk inserts. The sink encodes them itself
    (pipeline/sink/native.py); what it leaves to the client is encoded by the compiled Native
    encoder of clickhouse-connect-core, half the client CPU per row of the Python one. Query
    clients keep the Python codec.
    """
    try:
        return get_client(
            host=settings.clickhouse_host,
            port=settings.clickhouse_port,
            secure=settings.clickhouse_secure,
            username=settings.clickhouse_user,
            password=settings.clickhouse_password.get_secret_value(),
            database=settings.clickhouse_database if database is None else database,
            connect_timeout=5,
            send_receive_timeout=120,
            autogenerate_session_id=False,
            compress=False,
            native_codec="rust" if inserts else "python",
        )
    except OperationalError as exc:
        raise SinkUnavailable(unreachable(settings, exc)) from exc
    except DatabaseError as exc:
        raise SinkUnavailable(
            f"ClickHouse at {settings.clickhouse_url} refused the login or database: {exc}"
        ) from exc


def read_only() -> dict[str, Any]:
    """Per-query settings for SQL run on a user's behalf (`sql`, `query`, `export`).

    readonly=1, not 2: readonly=2 still lets a statement change settings and use table functions,
    so `INSERT INTO FUNCTION file(…)` wrote files and url()/s3()/remote() reached other hosts.
    clickhouse-connect's own settings (date_time_input_format …) travel in the same request as
    readonly and are applied with it, so they still pass (measured with ClickHouse 26.9 and
    clickhouse-connect 1.12); a SETTINGS clause in the statement is refused.
    """
    return {"readonly": 1}


def unreachable(settings: Settings, exc: BaseException) -> str:
    return (
        f"ClickHouse at {settings.clickhouse_url} is not answering ({first_line(exc, 200)}): is it "
        "running? `logweir stack up` starts the local one"
    )
