#!/usr/bin/env bash
# SQLAlchemy 2 and Alembic for the SQLite tests' Python side (test/sqlite-alembic.test.ts), beside
# Debian 12's SQLAlchemy 1.4 and Alembic 1.8: fastapi-fullauth 0.15 runs on SQLAlchemy 2, and
# PyPI is not reachable from these machines. Debian 13 (trixie) packages both as pure Python
# (python3-sqlalchemy 2.0.x, python3-alembic 1.13.x, and the typing-extensions they need): apt
# downloads them with a sources list of its own (scripts/debian-suite.sh), and dpkg-deb unpacks them into a folder that the tests put on
# PYTHONPATH for /usr/bin/python3 (3.11; both libraries support it; their C speed-ups are a
# separate package, not needed). Mako comes from Debian 12's python3-alembic (.ci/run installs it).
#
# Usage: bash scripts/python-sqlalchemy2.sh [folder]   (default: .fullauth-dev/python-sqlalchemy2)
# Prints the folder to put on PYTHONPATH; exits non-zero, saying why, when it cannot be made.
set -euo pipefail
cd "$(dirname "$0")/.."
target="$(realpath -m "${1:-.fullauth-dev/python-sqlalchemy2}")"
site="$target/usr/lib/python3/dist-packages"
probe='import sqlalchemy, alembic; assert sqlalchemy.__version__.startswith("2."), sqlalchemy.__version__; print(f"SQLAlchemy {sqlalchemy.__version__}, Alembic {alembic.__version__}")'

if [ -d "$site" ] && PYTHONPATH="$site" /usr/bin/python3 -c "$probe" >/dev/null 2>&1; then
  echo "$site"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck source=scripts/debian-suite.sh
. scripts/debian-suite.sh
debian_suite trixie "$work"
debian_unpack "$target" python3-sqlalchemy python3-alembic python3-typing-extensions
PYTHONPATH="$site" /usr/bin/python3 -c "$probe" >&2
echo "$site"
