#!/usr/bin/env bash
# Style checks: every C++ and proto file formatted with the repository's
# .clang-format (`--fix` rewrites them instead), and every shell script clean
# under shellcheck.
set -euo pipefail
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=scripts/lib.sh
source "$SCRIPTS_DIR/lib.sh"
REPO=$(cd "$SCRIPTS_DIR/.." && pwd -P)
cd "$REPO"

require_tool clang-format clang-format
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
  '*.cc' '*.h' '*.proto' | while read -r f; do [[ -f $f ]] && echo "$f"; done)
[[ ${#files[@]} -gt 0 ]] || die "no source files found"

if [[ ${1:-} == --fix ]]; then
  clang-format -i "${files[@]}"
  log "formatted ${#files[@]} files"
  exit 0
fi

bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [[ ${#bad[@]} -gt 0 ]]; then
  printf '%s\n' "${bad[@]}" >&2
  die "${#bad[@]} file(s) not clang-formatted: run scripts/check-format.sh --fix"
fi
log "formatting OK (${#files[@]} files)"

require_tool shellcheck shellcheck
mapfile -t scripts < <(git ls-files --cached --others --exclude-standard -- '*.sh' .ci/run)
shellcheck -x -P SCRIPTDIR "${scripts[@]}" || die "shellcheck found problems in the scripts"
log "shellcheck OK (${#scripts[@]} scripts)"
