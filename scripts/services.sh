#!/usr/bin/env bash
# services.sh - make RabbitMQ (5672), PostgreSQL (5432) and Redis (6379) listen on 127.0.0.1 for
# the connector integration tests. Idempotent: a service whose port already accepts connections
# is left running; missing packages are installed with apt-get (SERVICES_INSTALL=0 to refuse).
#
#   scripts/services.sh [start|stop|status]      (default: start)
#
# Environment: SERVICES (default "rabbitmq postgres redis"), SERVICE_TIMEOUT (seconds, 120),
# SERVICES_STATE (redis data folder, /tmp/engine-services), PG_TEST_DB (test).
# Afterwards the tests' defaults work:
#   ENGINE_TEST_AMQP_URL      amqp://guest:guest@127.0.0.1:5672/%2f
#   ENGINE_TEST_POSTGRES_DSN  postgres://postgres@127.0.0.1:5432/test?sslmode=disable
#   ENGINE_TEST_REDIS_URL     redis://127.0.0.1:6379/
set -u

SERVICES=${SERVICES:-"rabbitmq postgres redis"}
TIMEOUT=${SERVICE_TIMEOUT:-120}
STATE=${SERVICES_STATE:-/tmp/engine-services}
INSTALL=${SERVICES_INSTALL:-1}
PG_DB=${PG_TEST_DB:-test}

say() { echo "[services] $*" >&2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

await_port() { # name port
    local t0=$SECONDS
    until listening "$2"; do
        if (( SECONDS - t0 >= TIMEOUT )); then say "$1: port $2 still closed after ${TIMEOUT}s"; return 1; fi
        sleep 0.25
    done
    say "$1: listening on $2"
}

updated=0
install() { # package...
    [ "$INSTALL" = 1 ] || { say "missing $*; SERVICES_INSTALL=0 forbids installing"; return 1; }
    if [ "$updated" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
        updated=1
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
need() { command -v "$1" >/dev/null 2>&1 || { shift; install "$@"; }; }

redis_start() {
    if listening 6379; then say "redis: already up"; return 0; fi
    need redis-server redis-server redis-tools || return 1
    mkdir -p "$STATE/redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
        --dir "$STATE/redis" --pidfile "$STATE/redis/redis.pid" --logfile "$STATE/redis/redis.log" || return 1
    await_port redis 6379
}
redis_stop() { listening 6379 && redis-cli -h 127.0.0.1 shutdown nosave >/dev/null 2>&1; return 0; }

pg_major() { ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1; }
psql_admin() { # run psql as the postgres superuser, whatever user we are
    if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
        runuser -u postgres -- psql -q -X -v ON_ERROR_STOP=1 -d postgres "$@"
    else
        psql -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d postgres "$@"
    fi
}
postgres_start() {
    if ! listening 5432; then
        local v; v=$(pg_major)
        if [ -z "$v" ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
            install postgresql postgresql-client || return 1
            v=$(pg_major)
        fi
        [ -n "$v" ] || { say "postgres: no server installed"; return 1; }
        pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$v main" \
            || pg_createcluster "$v" main >/dev/null || return 1
        pg_ctlcluster "$v" main start || { say "postgres: start failed"; return 1; }
        await_port postgres 5432 || return 1
    else
        say "postgres: already up"
    fi
    local t0=$SECONDS
    until pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; do
        (( SECONDS - t0 >= TIMEOUT )) && { say "postgres: not ready"; return 1; }
        sleep 0.25
    done
    # The roles and database the tests use (trust auth on loopback is the machine's default).
    psql_admin -v d="$PG_DB" <<'SQL' || { say "postgres: role/database setup failed"; return 1; }
SELECT 'CREATE ROLE root LOGIN SUPERUSER' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'root') \gexec
SELECT format('CREATE DATABASE %I', :'d') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'d') \gexec
SQL
    say "postgres: database '$PG_DB' ready for users postgres and root"
}
postgres_stop() {
    listening 5432 || return 0
    local v; v=$(pg_major)
    [ -n "$v" ] && pg_ctlcluster "$v" main stop -m fast
    return 0
}

rabbitmq_start() {
    if listening 5672; then
        say "rabbitmq: already up"
    else
        need rabbitmq-server rabbitmq-server || return 1
        ( cd /var/lib/rabbitmq 2>/dev/null || cd /tmp; rabbitmq-server -detached ) || { say "rabbitmq: start failed"; return 1; }
        await_port rabbitmq 5672 || return 1
    fi
    # The port opens before the broker has finished booting.
    timeout "$TIMEOUT" rabbitmqctl -q await_startup --timeout "$TIMEOUT" >/dev/null 2>&1 \
        || { say "rabbitmq: not started"; return 1; }
    say "rabbitmq: ready"
}
rabbitmq_stop() { listening 5672 && rabbitmqctl -q stop >/dev/null 2>&1; return 0; }

action=${1:-start}
rc=0
for s in $SERVICES; do
    case "$action" in
        start) "${s}_start" || rc=1 ;;
        stop) "${s}_stop" ;;
        status) ;;
        *) say "usage: $0 [start|stop|status]"; exit 2 ;;
    esac
done
for p in 5672 5432 6379; do
    if listening $p; then say "port $p: up"; else say "port $p: down"; fi
done
exit $rc
