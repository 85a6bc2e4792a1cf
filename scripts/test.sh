#!/usr/bin/env bash
# `npm test`: the type-check (sources, tests, scripts, docs examples' host code) and vitest, side
# by side (the type-check needs one core for ~10 s; vitest's workers mostly wait on PostgreSQL
# and child processes); fails if either fails. Arguments go to vitest.
tsc -p tsconfig.json --noEmit > "${TMPDIR:-/tmp}/fullauth-typecheck.$$" 2>&1 &
typecheck=$!
vitest run "$@"
tests=$?
wait "$typecheck"
types=$?
cat "${TMPDIR:-/tmp}/fullauth-typecheck.$$"
rm -f "${TMPDIR:-/tmp}/fullauth-typecheck.$$"
[ "$types" -eq 0 ] && echo "typecheck: ok" || echo "typecheck: FAILED (exit $types)"
[ "$tests" -ne 0 ] && exit "$tests"
exit "$types"
