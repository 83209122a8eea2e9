# Source this file, then `start_test_postgres`: a throwaway PostgreSQL server on 127.0.0.1:54329
# for the test suite, run as the `postgres` user (the server refuses root). Exports ROLLCALL_TEST_DATABASE_URL.
PG_TEST_PORT="${PG_TEST_PORT:-54329}"
PG_TEST_DIR="${PG_TEST_DIR:-/tmp/rollcall-test-pg}"

start_test_postgres() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  local as=()
  if [ "$(id -u)" = "0" ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$PG_TEST_DIR" postgres
    as=(runuser -u postgres --)
  fi
  if ! "${as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR" status >/dev/null 2>&1; then
    rm -rf "$PG_TEST_DIR"
    mkdir -p "$PG_TEST_DIR"
    [ "$(id -u)" = "0" ] && chown postgres "$PG_TEST_DIR"
    "${as[@]}" "$bin/initdb" -D "$PG_TEST_DIR" -U postgres --auth=trust >/dev/null
    "${as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR" -l "$PG_TEST_DIR/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $PG_TEST_PORT -k $PG_TEST_DIR -c fsync=off -c max_connections=200" start >/dev/null
  fi
  export ROLLCALL_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_TEST_PORT/postgres"
  echo "test PostgreSQL: $ROLLCALL_TEST_DATABASE_URL"
}

stop_test_postgres() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  local as=()
  [ "$(id -u)" = "0" ] && as=(runuser -u postgres --)
  "${as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR" -m fast stop >/dev/null 2>&1 || true
}
