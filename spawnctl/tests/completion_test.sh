#!/usr/bin/env bash
# spawnctl's completion scripts, as built: the bash one loads in a plain `bash --norc` without a
# word on stderr, registers itself (`complete -p spawnctl`) and completes commands, options, file
# names and choices; the zsh one (when zsh is installed; skipped otherwise) parses, registers
# itself when sourced after compinit, and is found by compinit in fpath as it is installed.
# Usage: completion_test.sh BASH_SCRIPT ZSH_SCRIPT
set -euo pipefail
bash_script=$1
zsh_script=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
expect() {  # expect NAME OUTPUT LINE...: each LINE is a line of OUTPUT
  local name=$1 output=$2
  shift 2
  for line in "$@"; do
    grep -qxF -- "$line" <<<"$output" || fail "$name: no line \"$line\" in:"$'\n'"$output"
  done
}

touch "$tmp/deploy.yml" "$tmp/demo.yml"
out=$(bash --norc --noprofile -c '
  source "$1"
  complete -p spawnctl
  complete_words() {  # the words typed so far, the last being the one completed
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _spawnctl
    [ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"
  }
  echo "--- commands"; complete_words spawnctl dep
  echo "--- options"; complete_words spawnctl deploy --re
  echo "--- global options after the command"; complete_words spawnctl logs --ti
  echo "--- files"; complete_words spawnctl deploy -c "$2/de"
  echo "--- value"; complete_words spawnctl deploy -n ""
  echo "--- shells"; complete_words spawnctl completion ""
  echo "--- after a global option and its value"; complete_words spawnctl -b tcp://h:1 sc
' _ "$bash_script" "$tmp" 2>"$tmp/err")
[ ! -s "$tmp/err" ] || fail "bash printed on stderr: $(cat "$tmp/err")"
expect bash "$out" "complete -F _spawnctl spawnctl" deploy deploy-last --replace --timeout \
  "$tmp/deploy.yml" "$tmp/demo.yml" bash zsh scan
sed -n '/^--- value$/,/^---/p' <<<"$out" | grep -qv '^---' && fail "bash completed a value: $out"
echo "bash: ok"

if ! command -v zsh >/dev/null; then
  echo "zsh is not installed: its script is not tested"
  exit 0
fi
zsh -n "$zsh_script" 2>"$tmp/err" || fail "zsh -n: $(cat "$tmp/err")"
out=$(zsh -f -c 'autoload -Uz compinit && compinit -u -D && source "$1" && print -r -- "${_comps[spawnctl]}"' \
  _ "$zsh_script" 2>"$tmp/err")
[ ! -s "$tmp/err" ] || fail "zsh printed on stderr: $(cat "$tmp/err")"
expect "zsh, sourced" "$out" _spawnctl
mkdir "$tmp/fpath"
cp "$zsh_script" "$tmp/fpath/_spawnctl"
out=$(zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit && compinit -u -D && print -r -- "${_comps[spawnctl]}"' \
  _ "$tmp/fpath" 2>"$tmp/err")
[ ! -s "$tmp/err" ] || fail "zsh printed on stderr: $(cat "$tmp/err")"
expect "zsh, from fpath" "$out" _spawnctl
echo "zsh: ok"
