# shellcheck shell=bash
# Shared by scripts/demo and scripts/test: install what is missing, build,
# and run things as an unprivileged user on loopback. Source it; don't run it.

set -euo pipefail

MM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
# The server binaries of the PostgreSQL that PG_CONFIG describes (which may be
# a private installation); set again by mm_setup once pg_config is installed.
mm_pg_bin() { PG_BIN=$("$PG_CONFIG" --bindir); }
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
if [ -x "$PG_CONFIG" ]; then mm_pg_bin; fi

# Debian 12 packages: build, server, pg_cron, the libraries we link, the test
# tools (IPC::Run for TAP; clang and its libFuzzer/sanitizer runtime, which
# clang only recommends, and python3 for test/xlsx), node+npm for anvil.
MM_APT_PACKAGES=(
    build-essential pkg-config ca-certificates
    "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" "postgresql-$PG_MAJOR-cron"
    libsecp256k1-dev libcurl4-openssl-dev libgsl-dev libzip-dev zlib1g-dev libexpat1-dev
    libxlsxwriter-dev libipc-run-perl
    clang libclang-rt-14-dev python3 python3-openpyxl
    chromium
    libreoffice-calc-nogui
)

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi

mm_say() { printf '\n== %s\n' "$*"; }

# Install the Debian packages that are missing, then (unless given "apt")
# the pinned npm tools.
mm_setup() {
    local missing=() p
    for p in "${MM_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
    if [ ${#missing[@]} -gt 0 ]; then
        mm_say "installing Debian packages: ${missing[*]}"
        "${SUDO[@]}" apt-get update -qq
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    mm_pg_bin
    [ "${1:-}" != apt ] || return 0
    # npm ci only when the lock file changed since the last install (npm's own
    # node_modules/.package-lock.json is not a copy of it: keep our stamp).
    if ! cmp -s "$MM_ROOT/package-lock.json" "$MM_ROOT/node_modules/.megamarket-lock.json" 2>/dev/null \
        || [ ! -x "$MM_ROOT/node_modules/.bin/anvil" ]; then
        mm_say "installing pinned npm tools (npm ci)"
        (cd "$MM_ROOT" && npm ci --no-audit --no-fund --loglevel=error \
            && cp package-lock.json node_modules/.megamarket-lock.json)
    fi
}

# Build with warnings as errors and install into the server's directories.
mm_build() {
    mm_say "building megamarket against $("$PG_CONFIG" --version)"
    make -C "$MM_ROOT" -s WERROR=1 ${MM_ASSERTS:+ASSERTS=1} -j"$(nproc)"
    "${SUDO[@]}" make -C "$MM_ROOT" -s install PG_CONFIG="$PG_CONFIG" >/dev/null
    # the workbook generators (demo data, import tests, benchmarks)
    make -C "$MM_ROOT/tools" -s -j"$(nproc)"
}

# The server refuses to run as root. As root we run it (and the tests) as the
# system user "megamarket", made on first use; otherwise as ourselves.
mm_pick_user() {
    if [ "$(id -u)" -eq 0 ]; then
        MM_USER=megamarket
        id -u "$MM_USER" >/dev/null 2>&1 \
            || useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin "$MM_USER"
    else
        MM_USER=$(id -un)
    fi
}

# Run a command as MM_USER with our environment's essentials.
mm_as_user() {
    if [ "$(id -un)" = "$MM_USER" ]; then
        "$@"
    else
        runuser -u "$MM_USER" -- env PATH="$PG_BIN:$PATH" PG_CONFIG="$PG_CONFIG" \
            ${MEGAMARKET_TEST_ETH_RPC_URL:+MEGAMARKET_TEST_ETH_RPC_URL="$MEGAMARKET_TEST_ETH_RPC_URL"} \
            ${PROVE_FLAGS:+PROVE_FLAGS="$PROVE_FLAGS"} HOME="$MM_WORK" "$@"
    fi
}

# A scratch directory owned by MM_USER, removed on exit unless MM_KEEP=1.
mm_workdir() {
    MM_WORK=$(mktemp -d "${TMPDIR:-/tmp}/megamarket.XXXXXX")
    chmod 755 "$MM_WORK"
    [ "$(id -u)" -ne 0 ] || chown "$MM_USER:$MM_USER" "$MM_WORK"
}

# A free TCP port on loopback (the kernel picks it).
mm_free_port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0)->sockport'
}

# Start anvil (a real local Ethereum node) on a free loopback port; sets
# MEGAMARKET_TEST_ETH_RPC_URL and ANVIL_PID.
mm_start_anvil() {
    local anvil=$1 log=$MM_WORK/anvil.log port i
    port=$(mm_free_port)
    # its own session, so that stopping it (mm_stop_anvil) signals only it
    local as=()
    [ "$(id -un)" = "$MM_USER" ] || as=(runuser -u "$MM_USER" --)
    setsid "${as[@]}" "$anvil" --host 127.0.0.1 --port "$port" --chain-id 31337 >"$log" 2>&1 &
    ANVIL_PID=$!
    for i in $(seq 1 100); do
        grep -q "Listening on 127.0.0.1:$port" "$log" 2>/dev/null && break
        kill -0 "$ANVIL_PID" 2>/dev/null || { cat "$log"; echo "anvil did not start" >&2; return 1; }
        sleep 0.1
    done
    export MEGAMARKET_TEST_ETH_RPC_URL="http://127.0.0.1:$port"
    mm_say "anvil (chain id 31337) listening on $MEGAMARKET_TEST_ETH_RPC_URL"
}

# Throwaway cluster in $MM_WORK/data on a free loopback port, preloading
# megamarket and pg_cron; sets PGHOST/PGPORT/PGUSER/PGDATABASE for psql.
mm_start_cluster() {
    local db=${1:-megamarket}
    export PGPORT PGHOST=$MM_WORK PGUSER=postgres PGDATABASE=$db
    PGPORT=$(mm_free_port)
    mm_as_user "$PG_BIN/initdb" -D "$MM_WORK/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$MM_WORK/initdb.log"
    cat >>"$MM_WORK/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$MM_WORK'
shared_preload_libraries = 'megamarket, pg_cron'
cron.database_name = '$db'
${MM_CLUSTER_CONF:-}
CONF
    mm_as_user "$PG_BIN/pg_ctl" -D "$MM_WORK/data" -l "$MM_WORK/server.log" -w start >/dev/null
    mm_as_user "$PG_BIN/createdb" -h "$PGHOST" -p "$PGPORT" -U postgres "$db"
    mm_say "PostgreSQL $PG_MAJOR listening on 127.0.0.1:$PGPORT (data in $MM_WORK/data)"
}

mm_stop_anvil() {
    if [ -n "${ANVIL_PID:-}" ]; then
        kill -TERM -- "-$ANVIL_PID" 2>/dev/null || true
        wait "$ANVIL_PID" 2>/dev/null || true
        ANVIL_PID=
    fi
}

mm_stop_cluster() {
    [ -d "${MM_WORK:-}/data" ] && mm_as_user "$PG_BIN/pg_ctl" -D "$MM_WORK/data" -m fast -w stop >/dev/null 2>&1 || true
}

mm_psql() {
    mm_as_user "$PG_BIN/psql" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$PGDATABASE" \
        -X -v ON_ERROR_STOP=1 "$@"
}
