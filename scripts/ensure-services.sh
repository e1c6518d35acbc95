#!/usr/bin/env bash
# Starts PostgreSQL and Redis on 127.0.0.1 when they are not already
# running, installing them with apt-get where they are missing. The test
# suite and the split-topology run need both.
set -euo pipefail

PG_PORT=5432
REDIS_PORT=6379

log() { printf 'ensure-services: %s\n' "$*" >&2; }

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        log "installing $* needs root; run this script as root or install $* yourself"
        exit 1
    fi
    if [ -z "${APT_UPDATED:-}" ]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
    if port_open "$PG_PORT"; then
        return
    fi
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        log "PostgreSQL is missing; installing it with apt-get"
        apt_install postgresql
    fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 30); do
        port_open "$PG_PORT" && break
        sleep 1
    done
    # A fresh Debian cluster requires a password over TCP. The tests log in
    # as postgres with the password "postgres", which a trust-auth server
    # ignores.
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
}

ensure_redis() {
    if port_open "$REDIS_PORT"; then
        return
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        log "Redis is missing; installing it with apt-get"
        apt_install redis-server
    fi
    log "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
    for _ in $(seq 1 30); do
        port_open "$REDIS_PORT" && break
        sleep 1
    done
}

ensure_postgres
ensure_redis
port_open "$PG_PORT" || { log "PostgreSQL is not reachable on 127.0.0.1:$PG_PORT"; exit 1; }
port_open "$REDIS_PORT" || { log "Redis is not reachable on 127.0.0.1:$REDIS_PORT"; exit 1; }
log "PostgreSQL on 127.0.0.1:$PG_PORT and Redis on 127.0.0.1:$REDIS_PORT are up"
