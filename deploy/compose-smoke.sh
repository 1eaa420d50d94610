#!/usr/bin/env bash
# End-to-end check of docker-compose.yml, for machines with Docker (Compose v2) and curl:
#   1. brings the stack up with the example webhook receiver (profile example-receiver), under
#      its own project name, with passwords of its own and a quick alert rule of its own;
#   2. waits for the worker's healthcheck (/health);
#   3. publishes error lines with `logweir produce` inside the worker container;
#   4. checks the rows in ClickHouse over HTTP as the read-only `grafana` user, and that this
#      user cannot insert;
#   5. checks that the rule fired and the example receiver got a signed webhook for it;
#   6. tears the stack down, volumes included (SMOKE_KEEP=1 leaves it running).
#
# Usage: deploy/compose-smoke.sh            (from anywhere; about 2-5 minutes with images cached)
# Environment: SMOKE_PROJECT (compose project, default logweir-smoke), SMOKE_TIMEOUT (seconds to
# wait for each step, default 300), SMOKE_KEEP=1.
# The stack publishes the same host ports as `docker compose up` (9092, 8123, 9000, 9464, 3000,
# 9090, 8080): stop a running logweir stack first.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PROJECT="${SMOKE_PROJECT:-logweir-smoke}"
TIMEOUT="${SMOKE_TIMEOUT:-300}"
KEEP="${SMOKE_KEEP:-0}"
RUN_ID="smoke-$(date +%s)-$$"
LINES=20
RULE=compose-smoke-errors
SERVICE_NAME=compose-smoke
RULES_DIR=.logweir/compose-smoke

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() {
    printf '\033[31mFAILED: %s\033[0m\n' "$*" >&2
    exit 1
}

for tool in docker curl; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
done
docker compose version >/dev/null 2>&1 || fail "'docker compose' (Compose v2) is not available"
docker info >/dev/null 2>&1 || fail "the Docker engine is not running (docker info failed)"

# Everything the stack reads from the environment, set here so that a .env file cannot change
# what this script checks (the shell's environment wins over .env in compose).
export CLICKHOUSE_WRITER_PASSWORD="writer-$RUN_ID"
export CLICKHOUSE_READER_PASSWORD="reader-$RUN_ID"
export GRAFANA_ADMIN_PASSWORD="admin-$RUN_ID"
export ALERT_RULES_DIR="./$RULES_DIR"
export ALERT_RULES_FILE=rules.yaml
export ALERT_WEBHOOKS='[{"name":"example","url":"http://example-receiver:8080/alerts"}]'
export ALERT_WEBHOOK_SECRET="secret-$RUN_ID"

compose() { docker compose --project-name "$PROJECT" --profile example-receiver "$@"; }

cleanup() {
    local status=$?
    if [ "$status" -ne 0 ]; then
        say "logs of the failed run (last 40 lines per service)"
        compose logs --no-color --tail=40 worker clickhouse example-receiver grafana || true
    fi
    if [ "$KEEP" = "1" ]; then
        say "SMOKE_KEEP=1: left running; stop with: docker compose -p $PROJECT --profile example-receiver down -v"
    else
        say "tearing down (project $PROJECT, volumes included)"
        compose down --volumes --remove-orphans >/dev/null 2>&1 || true
    fi
    exit "$status"
}
trap cleanup EXIT

# A rule of its own, with 5-second windows, so that the alert comes within seconds (the example
# rules in deploy/alerts count per minute). Checked by the worker at start: a bad rule fails it.
mkdir -p "$RULES_DIR"
cat >"$RULES_DIR/rules.yaml" <<EOF
rules:
  - name: $RULE
    description: Errors published by deploy/compose-smoke.sh
    match: {services: ["$SERVICE_NAME"], min_severity: error}
    condition: {type: threshold, count: 5}
    window_seconds: 5
EOF
chmod 755 "$RULES_DIR"
chmod 644 "$RULES_DIR/rules.yaml"

# Wait until "$@" succeeds, at most $TIMEOUT seconds.
wait_for() {
    local what=$1
    shift
    local deadline=$((SECONDS + TIMEOUT))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "$what: not after ${TIMEOUT}s"
        sleep 2
    done
}

worker_healthy() {
    local id
    id=$(compose ps --quiet worker)
    [ -n "$id" ] && [ "$(docker inspect --format '{{.State.Health.Status}}' "$id")" = healthy ]
}

clickhouse_query() { # $1 = user:password, $2 = SQL; prints the answer, fails on an HTTP error
    curl --silent --show-error --fail-with-body --user "$1" --data-binary "$2" \
        "http://localhost:8123/?database=logweir"
}

rows_stored() {
    local count
    count=$(clickhouse_query "grafana:$CLICKHOUSE_READER_PASSWORD" \
        "SELECT count() FROM otel_logs WHERE ServiceName = '$SERVICE_NAME' AND position(Body, '$RUN_ID') > 0" \
        2>/dev/null) || return 1
    [ "$count" = "$LINES" ]
}

# The receiver's first log line for the rule with a signature (no `grep -q`/`head` here: under
# pipefail, a reader that stops early fails the pipeline with SIGPIPE).
webhook_line() {
    local logs
    logs=$(compose logs --no-color example-receiver 2>/dev/null) || return 1
    grep -F "\"$RULE\"" <<<"$logs" | grep -F 'signature=sha256=' | sed -n 1p
}

webhook_received() { [ -n "$(webhook_line)" ]; }

say "building and starting the stack (project $PROJECT, with the example receiver)"
compose up --detach --build

say "waiting for the worker's healthcheck (/health)"
wait_for "worker healthy" worker_healthy

say "publishing $LINES error lines of service $SERVICE_NAME (run $RUN_ID)"
for i in $(seq 1 "$LINES"); do
    printf '{"level":"error","service":"%s","message":"%s line %d"}\n' "$SERVICE_NAME" "$RUN_ID" "$i"
done | compose exec -T worker logweir produce

say "checking the rows in ClickHouse as the read-only user grafana"
wait_for "$LINES rows of run $RUN_ID in logweir.otel_logs" rows_stored
if clickhouse_query "grafana:$CLICKHOUSE_READER_PASSWORD" \
    "INSERT INTO otel_logs (Body) VALUES ('must not be stored')" >/dev/null 2>&1; then
    fail "the read-only user grafana could insert"
fi
echo "  $LINES rows stored; grafana may read them and may not insert"

say "waiting for rule $RULE to fire and reach the example receiver"
wait_for "a signed webhook for $RULE in the example receiver's log" webhook_received
webhook_line | cut -c 1-300

say "compose smoke test passed"
