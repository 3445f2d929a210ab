#!/usr/bin/env bash
# Runs a command with ATELIER_TEST_POSTGRES naming a PostgreSQL server for
# the tests of the postgres package:
#
#   testdata/with-postgres.sh go test -race ./...
#   testdata/with-postgres.sh --install     # only install PostgreSQL
#   ATELIER_PG_DURABLE=1 testdata/with-postgres.sh go run ./internal/benchserver
#
# If ATELIER_TEST_POSTGRES is already set, the command runs as it is.
# Otherwise the script starts a throwaway cluster: initdb in a temporary
# directory, listening on 127.0.0.1 on a free port only, and removes it
# when the command ends. The cluster skips fsync, as tests need no
# durability, unless ATELIER_PG_DURABLE=1 (for benchmarks: every commit
# waits for its WAL flush, as in production). It installs the Debian package `postgresql` first
# when no PostgreSQL is found and it runs as root or may sudo (as on CI).
# Without PostgreSQL the command still runs, and those tests skip saying
# why.
set -euo pipefail

log() { echo "with-postgres: $*" >&2; }

find_bindir() {
	local d
	if d="$(command -v initdb 2>/dev/null)" && [ -x "$(dirname "$d")/pg_ctl" ]; then
		dirname "$(readlink -f "$d")"
		return
	fi
	# Debian keeps the server programs off PATH.
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

bindir="$(find_bindir)"
sudo=""
[ "$(id -u)" -eq 0 ] || ! sudo -n true 2>/dev/null || sudo="sudo -n"
if [ -z "$bindir" ] && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; } && command -v apt-get >/dev/null; then
	log "installing PostgreSQL (apt-get install postgresql)"
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
	bindir="$(find_bindir)"
fi

if [ "${1:-}" = "--install" ]; then
	[ -n "$bindir" ] || { log "PostgreSQL is not installed"; exit 1; }
	exit 0
fi
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...] | --install" >&2; exit 2; }

if [ -n "${ATELIER_TEST_POSTGRES:-}" ]; then
	exec "$@"
fi
if [ -z "$bindir" ]; then
	log "PostgreSQL not found (Debian: apt-get install postgresql); its tests will skip"
	exec "$@"
fi

# initdb refuses to run as root: run the cluster as the postgres user then.
as=()
if [ "$(id -u)" -eq 0 ]; then
	if ! id postgres >/dev/null 2>&1; then
		log "running as root and there is no postgres user to run the cluster as; its tests will skip"
		exec "$@"
	fi
	if command -v runuser >/dev/null; then
		as=(runuser -u postgres --)
	else
		as=(su postgres -s /bin/sh -c '"$0" "$@"')
	fi
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/atelier-pg.XXXXXX")"
chmod 755 "$dir"
[ ${#as[@]} -eq 0 ] || chown postgres: "$dir"
started=""
cleanup() {
	if [ -n "$started" ]; then
		"${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

t0=$(date +%s%N)
if ! "${as[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
	log "initdb failed; its tests will skip:"; cat "$dir/initdb.log" >&2
	"$@"
	exit $?
fi

fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[ "${ATELIER_PG_DURABLE:-}" != 1 ] || fast=""

# A free port: try from a random one up until a server starts.
port=$((20000 + RANDOM % 20000))
for _ in 1 2 3 4 5 6 7 8 9 10; do
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null \
		&& "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $dir $fast -c max_connections=200" \
			start >/dev/null 2>&1; then
		started=1
		break
	fi
	port=$((port + 1))
done
if [ -z "$started" ]; then
	log "PostgreSQL did not start; its tests will skip:"; tail -n 20 "$dir/server.log" >&2 || true
	"$@"
	exit $?
fi
log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

export ATELIER_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
"$@"
