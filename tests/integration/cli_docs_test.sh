#!/usr/bin/env bash
# tests/integration/cli_docs_test.sh — the documents an operator reads first stay true to what
# is built: every command `ringway --help` lists is described in docs/cli.md, every service
# executable the build makes is listed as built in README.md's "What exists today", and no
# service that table calls planned has an executable (so the docs never describe an absent
# service as present, nor a present one as absent).
set -uo pipefail
build=${RINGWAY_BUILD_DIR:?}
top=${RINGWAY_SOURCE_DIR:?}

# shellcheck source=tests/harness/wrap.sh
. "$top/tests/harness/wrap.sh"

help=$("$build/tools/ringway" --help)
check "ringway --help answers" [ -n "$help" ]
for cmd in $(sed -n '/^usage:/,/^Configuration:/s/^  \([a-z][a-z]*\) .*/\1/p' <<<"$help" | sort -u); do
  check "docs/cli.md describes '$cmd'" grep -q "^| \`$cmd[ \`]" "$top/docs/cli.md"
done

table=$(sed -n '/^## What exists today/,/^## /p' "$top/README.md")
check "README.md has the table" grep -q '^| part | state |' <<<"$table"
built=0
for exe in "$build"/services/*/ringway-*; do
  [ -x "$exe" ] || continue
  name=${exe##*/ringway-}
  built=$((built + 1))
  check "README lists $name as built" grep -q "^| \`$name\`[^|]* | built" <<<"$table"
done
check "the build made service executables ($built)" [ "$built" -ge 2 ]
for name in $(sed -n 's/^| `\([a-z-]*\)`[^|]* | planned.*/\1/p' <<<"$table"); do
  check "planned $name has no executable" [ ! -e "$build/services/$name/ringway-$name" ]
done

echo "cli_docs_test: $pass passed, $failed failed"
[ $failed -eq 0 ]
