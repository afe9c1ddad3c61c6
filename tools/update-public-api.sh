#!/usr/bin/env bash
# Adds every public symbol the build reports as undeclared (RS0016) to its project's PublicAPI.Unshipped.txt, then
# rebuilds. Review the diff: each added line is a public API change. Usage: tools/update-public-api.sh [project…]
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(Decart.Toolkit.sln)
# Several passes: a project that fails on RS0016 stops the projects that reference it from being compiled at all.
for pass in 1 2 3 4; do
  added=0
  for target in "${targets[@]}"; do
    log=$(mktemp)
    dotnet build "$target" -c Release -nologo -clp:NoSummary > "$log" 2>&1 || true
    # error RS0016: Symbol 'X' is not part of the declared public API (…) [/path/Project.csproj]
    while IFS=$'\t' read -r project symbol; do
      [ -z "$project" ] && continue
      file="$(dirname "$project")/PublicAPI.Unshipped.txt"
      if ! grep -qxF -- "$symbol" "$file"; then
        printf '%s\n' "$symbol" >> "$file"
        added=$((added + 1))
      fi
    done < <({ grep -E "error RS0016: Symbol '" "$log" || true; } | sed -E "s/.*Symbol '(.*)' is not part of the declared public API.*\[(.*)\.csproj\]$/\2\t\1/" | sort -u)
    rm -f "$log"
  done
  echo "pass $pass: $added added"
  [ "$added" -eq 0 ] && break
done
for file in src/*/PublicAPI.Unshipped.txt; do
  { head -1 "$file"; tail -n +2 "$file" | LC_ALL=C sort -u; } > "$file.tmp" && mv "$file.tmp" "$file"
done
dotnet build "${targets[@]:0:1}" -c Release -nologo -v q -clp:ErrorsOnly
