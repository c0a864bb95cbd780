# checks.sh - the assertions of the shell suites (sourced, not run):
#   ok NAME / bad NAME            count a pass or a failure
#   expect NAME WANTED_EXIT CMD   run CMD (stdout in $tmp/out, stderr in $tmp/err)
#   has NAME FILE PATTERN         FILE contains PATTERN
# The sourcing script sets tmp, pass and fail.
# SPDX-License-Identifier: GPL-3.0-or-later

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

expect() {
  local name=$1 want=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok "$name (exit $rc)"; else
    bad "$name: exit $rc, wanted $want"; sed 's/^/     | /' "$tmp/err" | head -5; fi
}

has() {
  if grep -q -- "$3" "$2"; then ok "$1"; else bad "$1: '$3' not in $(basename "$2")"; sed 's/^/     | /' "$2" | head -5; fi
}
