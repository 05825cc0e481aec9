#!/usr/bin/env bash
# Lint the repository with the hooks of .pre-commit-config.yaml (OpenMMLab's: flake8, isort, yapf, codespell and
# the pre-commit-hooks checks), configured in setup.cfg; the tools are pinned in requirements/stack.txt and
# installed into .venv by tools/setup.sh. Runs over the files git knows (tracked, and new ones not ignored), minus
# data/ (shipped data sets).
#
#   bash tools/lint.sh          # check: changes nothing, prints what the fixers would change, non-zero on a finding
#   bash tools/lint.sh --fix    # apply the fixers (isort, yapf, whitespace, end of file, quotes), then check
#
# The check runs the fixers on a copy of the files and compares, so it and --fix cannot disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MMPCD_VENV:-$PWD/.venv}/bin
FIX=0
case "${1:-}" in
  --fix) FIX=1 ;;
  '') ;;
  *) echo "usage: bash tools/lint.sh [--fix]" >&2; exit 2 ;;
esac
for tool in flake8 isort yapf codespell trailing-whitespace-fixer end-of-file-fixer double-quote-string-fixer \
    mixed-line-ending check-yaml check-merge-conflict; do
  [ -x "$BIN/$tool" ] || { echo "lint: $BIN/$tool is missing: run bash tools/setup.sh" >&2; exit 2; }
done

mapfile -t FILES < <(git ls-files --cached --others --exclude-standard -- ':!:data/' | sort -u \
  | while read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done)
mapfile -t TEXT < <(printf '%s\n' "${FILES[@]}" | grep -Ev '\.(png|jpg|jpeg|gif|pdf|pth|tar|zip)$')
mapfile -t PY < <(printf '%s\n' "${TEXT[@]}" | grep '\.py$')
mapfile -t YAML < <(printf '%s\n' "${TEXT[@]}" | grep -E '\.ya?ml$')

# The fixers, in place, in the directory $1 (the repository or a copy of its files).
fix() {
  (cd "$1" && {
    "$BIN/isort" --settings-path "$OLDPWD/setup.cfg" -q "${PY[@]}"
    "$BIN/yapf" --style "$OLDPWD/setup.cfg" -i "${PY[@]}"
    "$BIN/trailing-whitespace-fixer" "${TEXT[@]}" >/dev/null || true
    "$BIN/end-of-file-fixer" "${TEXT[@]}" >/dev/null || true
    "$BIN/mixed-line-ending" --fix=lf "${TEXT[@]}" >/dev/null || true
    "$BIN/double-quote-string-fixer" "${PY[@]}" >/dev/null || true
  })
}

status=0
if [ "$FIX" = 1 ]; then
  fix "$PWD"
else
  COPY=$(mktemp -d)
  trap 'rm -rf "$COPY"' EXIT
  cp --parents -t "$COPY" "${TEXT[@]}"
  fix "$COPY"
  changed=0
  for f in "${TEXT[@]}"; do
    if ! cmp -s "$f" "$COPY/$f"; then
      diff -u "$f" "$COPY/$f" --label "a/$f" --label "b/$f" || true
      changed=$((changed + 1))
    fi
  done
  if [ "$changed" -gt 0 ]; then
    echo "lint: $changed file(s) need formatting (isort/yapf/whitespace/quotes above): bash tools/lint.sh --fix" >&2
    status=1
  fi
fi

"$BIN/flake8" "${PY[@]}" || status=1
"$BIN/codespell" "${TEXT[@]}" || status=1
"$BIN/check-yaml" "${YAML[@]}" || status=1
"$BIN/check-merge-conflict" "${TEXT[@]}" || status=1
[ "$status" = 0 ] && echo "lint: ${#TEXT[@]} files clean"
exit "$status"
