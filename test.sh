#!/usr/bin/env bash
# The one test command: on a fresh Debian machine with the .NET 10 SDK it installs what the
# tests need, builds the whole solution, runs every test project and ends with the line
#   N passed, N failed, N skipped
# Exit code 0 only when nothing failed. Usage: ./test.sh [extra dotnet test args]
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)

# --- system packages the tests need -------------------------------------------------------
# (Debian package names; each is installed only when missing.)
packages=()
if [ -f "$root/.ci/apt-packages" ]; then
  while read -r pkg; do
    [ -z "$pkg" ] && continue
    case "$pkg" in \#*) continue ;; esac
    dpkg -s "$pkg" >/dev/null 2>&1 || packages+=("$pkg")
  done < "$root/.ci/apt-packages"
fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "==> installing ${packages[*]}"
  sudo_cmd=""
  [ "$(id -u)" != "0" ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null \
    || { echo "could not install ${packages[*]}"; echo "0 passed, 1 failed"; exit 1; }
fi

# --- npm packages of the browser tests ------------------------------------------------------
for dir in tests/*/js; do
  if [ -f "$dir/package.json" ]; then
    echo "==> npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --silent) || { echo "npm ci failed in $dir"; echo "0 passed, 1 failed"; exit 1; }
    [ -f "$dir/build.mjs" ] && { (cd "$dir" && node build.mjs) || { echo "bundle failed in $dir"; echo "0 passed, 1 failed"; exit 1; }; }
  fi
done

# --- build ----------------------------------------------------------------------------------
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
echo "==> dotnet build"
if ! dotnet build Decart.Toolkit.sln -c Release -nologo -v q -clp:ErrorsOnly; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# --- test -----------------------------------------------------------------------------------
results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"
crashed=0
for proj in tests/*/*.csproj; do
  name=$(basename "$proj" .csproj)
  echo "==> $name"
  dotnet test "$proj" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" "$@" > "$results/$name.log" 2>&1
  rc=$?
  grep -E -A4 '^\s+Failed [A-Z]' "$results/$name.log" | head -200
  grep -E '^\s+Skipped [A-Z]|^(Passed|Failed)!|^Total tests' "$results/$name.log"
  if [ ! -f "$results/$name.trx" ]; then
    echo "   $name produced no results (exit $rc): test host crashed or did not start"
    tail -40 "$results/$name.log"
    crashed=$((crashed + 1))
  elif [ $rc -ne 0 ] && ! grep -q ' failed="[1-9]' "$results/$name.trx"; then
    echo "   $name exited $rc without a failed test (host crash or aborted run)"
    tail -40 "$results/$name.log"
    crashed=$((crashed + 1))
  fi
done

sum() { # attribute
  local total=0 n
  for f in "$results"/*.trx; do
    [ -f "$f" ] || continue
    n=$(grep -o "<Counters [^>]*" "$f" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' | head -1)
    total=$((total + ${n:-0}))
  done
  echo "$total"
}
passed=$(sum passed)
failed=$(( $(sum failed) + $(sum error) + $(sum timeout) + $(sum aborted) + crashed ))
skipped=$(sum notExecuted)
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
