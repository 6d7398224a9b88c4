#!/usr/bin/env bash
# Fails when a C++ file of the tree does not match the root .clang-format
# (clang-format-14 --dry-run --Werror). Fix with:
#   git ls-files '*.cpp' '*.h' | xargs clang-format-14 -i
# Usage: check_format.sh SOURCE_DIR
set -euo pipefail
cd "$1"
cf="$(command -v clang-format-14 || true)"
[ -n "$cf" ] || { echo "clang-format-14 not found (packaging/install-deps.sh installs it)" >&2; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cpp' '*.h')
else
  mapfile -t files < <(find core app ui tests -name '*.cpp' -o -name '*.h' | sort)
fi
bad=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  "$cf" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
echo "checked ${#files[@]} files with $("$cf" --version)"
if [ ${#bad[@]} -gt 0 ]; then
  echo "${#bad[@]} file(s) do not match .clang-format:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  "$cf" --dry-run "${bad[0]}" 2>&1 | head -20 >&2
  exit 1
fi
echo "all match .clang-format"
