#!/usr/bin/env bash
# A MySQL server for the tests, beside the machine's MariaDB: the store, the schema and their
# query plans are checked on MySQL itself, not only on MariaDB. No registry these machines
# reach ships a MySQL 8 server; Debian's unstable suite ships MySQL 9.7 (mysql-server-core), built
# for a newer C library than this Debian 12 has. So apt downloads it with the libraries it links
# (a sources list of its own: scripts/debian-suite.sh), dpkg-deb unpacks them into a folder, and mysqld runs through that folder's
# own dynamic loader, with its data directory beside it. Nothing is installed system-wide.
#
# Usage: bash scripts/mysql-server.sh [port]   (default 3307; FULLAUTH_MYSQL_HOME: the folder,
# default .fullauth-dev/mysql). Starts the server on 127.0.0.1:<port> unless something already
# answers there (root, no password, database `test`), and prints its URL; exits non-zero, saying
# why, when it cannot. Stop it with: kill "$(cat <folder>/run/mysqld.pid)".
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-3307}"
home="$(realpath -m "${FULLAUTH_MYSQL_HOME:-.fullauth-dev/mysql}")"
root="$home/root"
loader="$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
libs="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu"
url="mysql://root@127.0.0.1:$port/test"

answers() { mariadb -h 127.0.0.1 -P "$port" -u root --connect-timeout=2 -e 'select 1' >/dev/null 2>&1; }
if answers; then
  mariadb -h 127.0.0.1 -P "$port" -u root -e 'create database if not exists test'
  echo "$url"
  exit 0
fi

mysqld=("$loader" --library-path "$libs" "$root/usr/sbin/mysqld" --no-defaults --user=root
  --basedir="$root/usr" --lc-messages-dir="$root/usr/share/mysql" --datadir="$home/data")

if ! [ -x "$loader" ] || ! "${mysqld[@]:0:4}" --version >/dev/null 2>&1; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # shellcheck source=scripts/debian-suite.sh
  . scripts/debian-suite.sh
  debian_suite sid "$work"
  # mysql-server-core and everything it depends on, as apt resolves it for an empty system,
  # without Perl (mysqld does not run it).
  packages=$("${APT[@]}" -s install --no-install-recommends mysql-server-core | awk '/^Inst /{print $2}' |
    grep -v -E '^(perl|perl-base|perl-modules-[0-9.]+|libperl[0-9.]+|libdb5\.3t64|libgdbm6t64|libgdbm-compat4t64)$')
  # shellcheck disable=SC2086
  debian_unpack "$root" $packages
  "${mysqld[@]:0:4}" --version >&2
fi

mkdir -p "$home/run"
if ! [ -d "$home/data/mysql" ]; then
  rm -rf "$home/data"
  "${mysqld[@]}" --initialize-insecure >"$home/initialize.log" 2>&1 || { cat "$home/initialize.log" >&2; exit 1; }
fi
# A test server's settings: no binary log (nothing replicates from it), commits not flushed to disk
# one by one, and room for the scale test's million-row bulk load (MySQL's 128 MB buffer pool and
# 100 MB redo log made that one statement take 210 s, 15 s on the machine's MariaDB). Locking and
# isolation, what the tests are about, are MySQL's defaults.
setsid "${mysqld[@]}" --port="$port" --bind-address=127.0.0.1 --socket="$home/run/mysqld.sock" \
  --pid-file="$home/run/mysqld.pid" --mysqlx=OFF --secure-file-priv=NULL --log-error="$home/mysqld.log" \
  --skip-log-bin --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=1G --innodb-redo-log-capacity=2G \
  </dev/null >/dev/null 2>&1 &
for _ in $(seq 1 60); do
  answers && break
  sleep 1
done
answers || { echo "MySQL did not answer on 127.0.0.1:$port:" >&2; tail -n 20 "$home/mysqld.log" >&2; exit 1; }
mariadb -h 127.0.0.1 -P "$port" -u root -e 'create database if not exists test'
echo "$url"
