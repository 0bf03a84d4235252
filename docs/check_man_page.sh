#!/usr/bin/env bash
# Renders a man page as man(1) does, at 80 columns, and with groff's every warning on; fails on any
# warning. Usage: check_man_page.sh PAGE
set -euo pipefail
page=$1
[ -s "$page" ] || { echo "FAIL: $page is missing or empty" >&2; exit 1; }
err=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || {
  echo "FAIL: man -l $page failed: $err" >&2
  exit 1
}
[ -z "$err" ] || { echo "FAIL: man -l $page warned:"$'\n'"$err" >&2; exit 1; }
err=$(groff -ww -man -z "$page" 2>&1) || { echo "FAIL: groff $page: $err" >&2; exit 1; }
[ -z "$err" ] || { echo "FAIL: groff -ww -man $page warned:"$'\n'"$err" >&2; exit 1; }
# And it has its NAME, for apropos/whatis (lexgrog reads it as mandb does).
lexgrog "$page" >/dev/null || { echo "FAIL: lexgrog cannot read the NAME of $page" >&2; exit 1; }
echo "$page: renders without a warning"
