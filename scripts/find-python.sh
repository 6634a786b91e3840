#!/usr/bin/env bash
# Print the path of a Python interpreter of version $1 (e.g. 3.10), found in order:
#   1. the environment variable $2 (e.g. PYTHON310),
#   2. python$1 on PATH (checked to really run: pyenv shims may not),
#   3. pyenv: $PYENV_VERSION if it is $1.x, else the newest installed $1.x.
set -euo pipefail
want="$1"; var="$2"

runs_version() { "$1" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '$want'" 2>/dev/null; }

candidate="${!var:-}"
if [ -n "$candidate" ]; then
  runs_version "$candidate" && { echo "$candidate"; exit 0; }
  echo "error: $var=$candidate is not a working Python $want" >&2; exit 1
fi

if command -v "python$want" >/dev/null 2>&1 && runs_version "python$want"; then
  command -v "python$want"; exit 0
fi

if command -v pyenv >/dev/null 2>&1; then
  root="$(pyenv root)"
  versions=()
  case "${PYENV_VERSION:-}" in "$want".*) versions+=("$PYENV_VERSION") ;; esac
  while IFS= read -r v; do versions+=("$v"); done < <(ls "$root/versions" 2>/dev/null | grep -E "^${want//./\\.}\.[0-9]+$" | sort -t. -k3 -n -r)
  for v in "${versions[@]}"; do
    exe="$root/versions/$v/bin/python$want"
    if [ -x "$exe" ] && runs_version "$exe"; then echo "$exe"; exit 0; fi
  done
fi

cat >&2 <<MSG
error: Python $want was not found.
  Set $var=/path/to/python$want, put python$want on PATH, or install it with pyenv:
    pyenv install $want   # then re-run make
MSG
exit 1
