#!/usr/bin/env bash
# Builds the native shim and the .NET app into out/, and runs the tests.
#   ./build.sh          check prerequisites (installing missing Debian packages when root), build, publish to out/
#   ./build.sh test     build, then run every test (unit and end-to-end); ends with "N passed, N failed"
#   ./build.sh publish-windows   self-contained win-x64 server into out/win-x64 (proves the Windows build; CI runs it)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
OUT="$ROOT/out"
DEBIAN_PACKAGES=(gcc libc6-dev libpcap-dev nftables iproute2)

say() { printf '%s\n' "$*" >&2; }

missing_packages() {
  local missing=()
  command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
  [ -f /usr/include/pcap/pcap.h ] || missing+=(libpcap-dev)
  command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing+=(nftables)
  command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || missing+=(iproute2)
  [ ${#missing[@]} -eq 0 ] || printf '%s\n' "${missing[@]}"
}

ensure_prerequisites() {
  if ! command -v dotnet >/dev/null 2>&1; then
    say "error: the .NET 10 SDK is not installed (dotnet not on PATH); install it, e.g. from https://dot.net, then rerun ./build.sh"
    exit 1
  fi
  if ! dotnet --list-sdks | grep -q '^10\.'; then
    say "error: the .NET 10 SDK is required; found: $(dotnet --list-sdks | tr '\n' ' ')"
    exit 1
  fi
  mapfile -t missing < <(missing_packages)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing missing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "error: missing prerequisites: ${missing[*]}"
    say "install them with: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
}

build_native() {
  mkdir -p native/build
  if ls native/*.c >/dev/null 2>&1; then
    gcc -O2 -g -Wall -Wextra -Werror -fPIC -shared -o native/build/libmcshim.so native/*.c
  fi
}

publish_app() {
  dotnet publish src/Multicast.Cli/Multicast.Cli.csproj -c Release -o "$OUT/app" --nologo -v quiet
  mkdir -p "$OUT/bin"
  local name
  for name in multicast multis_admin multic_admin server_reload_list client_reload_list; do
    cat > "$OUT/bin/$name" <<LAUNCHER
#!/bin/sh
# Launcher: every tool is a mode of the one executable, chosen by name.
here=\$(dirname "\$(readlink -f "\$0")")
exec "\$here/../app/multicast" --as $name "\$@"
LAUNCHER
    chmod +x "$OUT/bin/$name"
  done
}

# The Windows server (pcap engine, udptopoint service) cannot run here, but it must keep compiling and publishing.
publish_windows() {
  rm -rf "$OUT/win-x64"
  if ! dotnet publish src/Multicast.Cli/Multicast.Cli.csproj -c Release -r win-x64 --self-contained \
       -o "$OUT/win-x64" --nologo -v quiet; then
    say "error: the win-x64 publish failed"
    return 1
  fi
  say "published: out/win-x64/multicast.exe"
}

run_tests() {
  local results="$ROOT/out/test-results"
  rm -rf "$results"
  mkdir -p "$results"
  set +e
  dotnet test tests/Multicast.Tests/Multicast.Tests.csproj -c Release --nologo \
    --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" --results-directory "$results"
  local status=$?
  set -e
  local trx="$results/results.trx"
  if [ ! -f "$trx" ]; then
    echo "0 passed, 1 failed"
    say "error: the test run produced no results (build failure?)"
    return 1
  fi
  local counters passed failed skipped
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  skipped=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters")
  echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
  [ "$status" -eq 0 ] && [ "${failed:-0}" -eq 0 ]
}

case "${1:-build}" in
  build) ensure_prerequisites; build_native; publish_app; say "built: out/bin/ (try: sudo out/bin/multicast demo)" ;;
  test) ensure_prerequisites; build_native; publish_app; run_tests ;;
  publish-windows) ensure_prerequisites; publish_windows ;;
  *) say "usage: ./build.sh [build|test|publish-windows]"; exit 2 ;;
esac
