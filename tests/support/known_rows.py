"""Rows with known values, inserted straight into otel_logs: the reports, exports and
dashboards are checked against what these rows must give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.sink import LOG_COLUMNS

NOW = datetime.now(UTC).replace(microsecond=0)
COLUMNS = list(LOG_COLUMNS)


def known_row(
    minutes_ago: float,
    service: str,
    severity: int,
    body: str,
    template: int,
    attributes: dict[str, str] | None = None,
) -> list[object]:
    """A row in COLUMNS order."""
    ts = NOW - timedelta(minutes=minutes_ago)
    ns = int(ts.timestamp()) * 1_000_000_000
    text = {1: "TRACE", 5: "DEBUG", 9: "INFO", 13: "WARN", 17: "ERROR", 21: "FATAL"}[severity]
    return [
        ns,
        "",
        "",
        0,
        text,
        severity,
        service,
        body,
        {"service.name": service},
        "",
        attributes or {},
        "",  # ResourceSchemaUrl … EventName: what only OTLP input carries
        "",
        {},
        "",
        "",
        "json",
        template,
        f"template {template}",
        [],
        "t",
        0,
        0,
        0,
        ns // 1_000_000,
    ]


def known_rows() -> list[list[object]]:
    rows = []
    # checkout: 6 requests with known durations (ms 100..600), 2 of them errors, users u1/u2.
    for i in range(6):
        failed = i >= 4
        rows.append(
            known_row(
                5 + i / 10,
                "checkout",
                17 if failed else 9,
                f"GET /api/items/{i}",
                1 + failed,
                {
                    "http.request.method": "GET",
                    "url.path": f"/api/items/{i}",
                    "http.response.status_code": "500" if failed else "200",
                    "http.server.request.duration": f"{(i + 1) / 10:.1f}",
                    "user.id": "u1" if i % 2 else "u2",
                },
            )
        )
    # payments: a burst of 12 errors in one minute, one template, and 3 debug lines.
    rows += [known_row(20, "payments", 17, f"timeout after {i} ms", 7) for i in range(12)]
    rows += [known_row(30, "payments", 5, "cache warm", 8) for _ in range(3)]
    return rows
