#!/usr/bin/env bash
# Builds the native shim and the .NET app into out/, and runs the tests.
#   ./build.sh          check prerequisites (installing missing Debian packages when root), build, publish to out/
#   ./build.sh test     build, then run every test (unit and end-to-end); ends with "N passed, N failed"
#   sudo ./build.sh install     build, then install under $PREFIX (default /usr/local) with systemd units
#   sudo ./build.sh uninstall   remove what install put in place, except /etc/multicast (the configuration)
#   ./build.sh package  build, then make an .rpm and a .deb in out/packages/ with the same payload as install
# install/uninstall honour DESTDIR (stage into a directory; systemctl is never run then) and PREFIX.
# NO_BUILD=1 installs or packages the already published out/app without rebuilding; PACKAGE_DIR overrides out/packages.
#   ./build.sh bench [ARGS]  build, then run the lab macro benchmark (root): out/bin/multicast bench ARGS
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
  # Publishing for this machine's runtime identifier keeps only its native assets (the plotting library ships
  # SkiaSharp/HarfBuzz for every OS and CPU: ~500 MB instead of ~30 MB).
  local rid
  case "$(uname -m)" in
    x86_64) rid=linux-x64 ;;
    aarch64|arm64) rid=linux-arm64 ;;
    *) rid="" ;;
  esac
  rm -rf "$OUT/app"
  dotnet publish src/Multicast.Cli/Multicast.Cli.csproj -c Release -o "$OUT/app" --nologo -v quiet \
    ${rid:+-r "$rid" --self-contained false}
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

# Each failed test's fixture and name, the first lines of its message and of what it printed (an end-to-end test
# prints the lab's kernel drop counters and the daemons' counters), read from the trx. The console log names a
# failure hundreds of lines before the end; CI keeps only the end of its output.
failed_tests() {
  echo "failed tests:"
  awk '
    # First pass: the fixture (class name with its arguments) of each test id.
    FNR == NR {
      if (match($0, /<UnitTest name="[^"]*"/) && match($0, / id="[^"]*"/)) id = substr($0, RSTART + 5, RLENGTH - 6)
      if (id != "" && match($0, /className="[^"]*"/)) { class[id] = substr($0, RSTART + 11, RLENGTH - 12); id = "" }
      next
    }
    /<UnitTestResult / {
      name = ""; if (match($0, /testName="[^"]*"/)) name = substr($0, RSTART + 10, RLENGTH - 11)
      tid = ""; if (match($0, /testId="[^"]*"/)) tid = substr($0, RSTART + 8, RLENGTH - 9)
      failed = ($0 ~ /outcome="Failed"/); where = ""; nout = 0; nmsg = 0
      if (failed) {
        fixture = class[tid]; args = ""
        if ((i = index(fixture, "(")) > 0) { args = substr(fixture, i); fixture = substr(fixture, 1, i - 1) }
        sub(/.*\./, "", fixture); print "  " fixture args "." name
      }
      next
    }
    !failed { next }
    /<\/UnitTestResult>/ { for (i = 1; i <= nout && i <= 16; i++) print "    | " out[i]; failed = 0; next }
    /<StdOut>/ { where = "out"; sub(/.*<StdOut>/, "") }
    /<Message>/ { where = "msg"; sub(/.*<Message>/, "") }
    where != "" {
      line = $0; ends = sub(/<\/(StdOut|Message)>.*/, "", line)
      if (where == "msg" && line != "" && nmsg++ < 12) print "    " substr(line, 1, 400)
      if (where == "out" && line != "" && nout++ < 16) out[nout] = substr(line, 1, 400)
      if (ends) where = ""
    }
  ' "$1" "$1" | sed -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&#xD;//g' -e 's/&amp;/\&/g'
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
  [ "${failed:-0}" -eq 0 ] || failed_tests "$trx"
  echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
  [ "$status" -eq 0 ] && [ "${failed:-0}" -eq 0 ]
}


PREFIX=${PREFIX:-/usr/local}
PREFIX=${PREFIX%/}
DESTDIR=${DESTDIR:-}
DESTDIR=${DESTDIR%/}
CONFIG_DIR=/etc/multicast
TOOLS=(multicast multis_admin multic_admin server_reload_list client_reload_list)
PACKAGE_NAME=multicast
PACKAGE_VERSION=${VERSION:-0.1.0}
PACKAGE_RELEASE=1

# systemd only reads units from its search path: /usr/local/lib and /usr/lib are in it, other prefixes are not.
unit_dir() {
  case "$PREFIX" in
    /usr/local|/usr) echo "$PREFIX/lib/systemd/system" ;;
    *) echo /etc/systemd/system ;;
  esac
}

# The units run the daemons in the foreground: systemd restarts them on a crash, stop sends SIGTERM (a clean
# stop), reload sends SIGHUP (re-read the config file). multis_monitord is the seed manual's name for the server.
write_unit() {
  local role=$1 tool=$2 what=$3 file=$4 var
  var=$(tr '[:lower:]' '[:upper:]' <<<"$role")_OPTIONS
  cat > "$file" <<UNIT
[Unit]
Description=Multicast proxy $what ($role)
Documentation=file://$PREFIX/share/doc/multicast/README.md
Wants=network-online.target
After=network-online.target

[Service]
# The daemon says READY=1 once its data plane and control socket are open, so a start that fails fails "start".
Type=notify
Environment=MULTICAST_CONFIG_DIR=$CONFIG_DIR
# Optional daemon options, e.g. $var="--interface eth0 --engine socket"
EnvironmentFile=-$CONFIG_DIR/$role.env
ExecStart=$PREFIX/bin/$tool -R \$$var
ExecReload=/bin/kill -HUP \$MAINPID
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
}

systemd_running() { [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

need_app() {
  if [ "${NO_BUILD:-0}" != 1 ]; then ensure_prerequisites; build_native; publish_app; fi
  if [ ! -x "$OUT/app/multicast" ]; then
    say "error: $OUT/app/multicast is missing; run ./build.sh first"
    exit 1
  fi
}

# Puts every installed file under $1 (a staging root, or "" for the live system). The package payloads are made
# by the same function, so install and packages cannot drift apart.
stage_files() {
  local root=$1 lib="$1$PREFIX/lib/multicast" bin="$1$PREFIX/bin" units="$1$(unit_dir)" name
  rm -rf "$lib"
  mkdir -p "$lib" "$bin" "$units" "$1$PREFIX/share/doc/multicast"
  cp -a "$OUT/app/." "$lib/"
  chmod -R u+rwX,go+rX,go-w "$lib"
  for name in "${TOOLS[@]}"; do
    cat > "$bin/$name" <<LAUNCHER
#!/bin/sh
exec $PREFIX/lib/multicast/multicast --as $name "\$@"
LAUNCHER
    chmod 0755 "$bin/$name"
  done
  write_unit multis multis_admin server "$units/multis.service"
  write_unit multic multic_admin client "$units/multic.service"
  ln -sfn multis.service "$units/multis_monitord.service"
  chmod 0644 "$units/multis.service" "$units/multic.service"
  install -m 0644 README.md "$1$PREFIX/share/doc/multicast/README.md"
  # The configuration directory is created, never overwritten: it holds the user's groups and members.
  [ -d "$1$CONFIG_DIR" ] || install -d -m 0755 "$1$CONFIG_DIR"
}

do_install() {
  if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then say "error: install needs root (sudo ./build.sh install), or set DESTDIR"; exit 1; fi
  need_app
  stage_files "$DESTDIR"
  if systemd_running; then
    systemctl daemon-reload
    systemctl enable multis.service multic.service >/dev/null 2>&1 || say "warning: systemctl enable failed"
    systemctl try-restart multis.service multic.service || true
  fi
  say "installed under ${DESTDIR}$PREFIX (units in ${DESTDIR}$(unit_dir)); config in ${DESTDIR}$CONFIG_DIR"
  say "start with: sudo service multis start   (or multic; multis_monitord is the same unit as multis)"
}

do_uninstall() {
  if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then say "error: uninstall needs root (sudo ./build.sh uninstall), or set DESTDIR"; exit 1; fi
  local units name
  units="$DESTDIR$(unit_dir)"
  if systemd_running; then
    systemctl disable --now multis.service multic.service >/dev/null 2>&1 || true
  fi
  rm -f "$units/multis.service" "$units/multic.service" "$units/multis_monitord.service"
  for name in "${TOOLS[@]}"; do rm -f "$DESTDIR$PREFIX/bin/$name"; done
  rm -rf "$DESTDIR$PREFIX/lib/multicast" "$DESTDIR$PREFIX/share/doc/multicast"
  if systemd_running; then systemctl daemon-reload; fi
  say "uninstalled from ${DESTDIR}$PREFIX; kept $DESTDIR$CONFIG_DIR"
}

# Maintainer scripts shared by the .deb and the .rpm ($1 is what each packaging system passes).
script_post() {
  cat <<'SCRIPT'
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload || true
  systemctl enable multis.service multic.service >/dev/null 2>&1 || true
  systemctl try-restart multis.service multic.service >/dev/null 2>&1 || true
fi
SCRIPT
}
script_preremove() {
  cat <<'SCRIPT'
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now multis.service multic.service >/dev/null 2>&1 || true
fi
SCRIPT
}
script_postremove() {
  cat <<'SCRIPT'
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload || true; fi
SCRIPT
}


# What the published app needs at run time (it is framework-dependent): the .NET runtime (the package name Microsoft's
# and the distributions' feeds share), nft for the clients' kernel delivery and the copy-drop rule; libpcap only for
# the pcap engine. AutoReqProv stays off in the .rpm, so these are the whole list.
DEB_DEPENDS="dotnet-runtime-10.0, nftables"
DEB_RECOMMENDS="libpcap0.8t64 | libpcap0.8"
RPM_REQUIRES="dotnet-runtime-10.0, nftables"
RPM_RECOMMENDS="libpcap"
build_deb() {
  local stage=$1 dest=$2 arch work
  arch=$(dpkg --print-architecture)
  work=$(mktemp -d)
  chmod 0755 "$work"
  cp -a "$stage/." "$work/"
  mkdir -p "$work/DEBIAN"
  cat > "$work/DEBIAN/control" <<CONTROL
Package: $PACKAGE_NAME
Version: $PACKAGE_VERSION-$PACKAGE_RELEASE
Architecture: $arch
Maintainer: Multicast maintainers <root@localhost>
Section: net
Priority: optional
Depends: $DEB_DEPENDS
Recommends: $DEB_RECOMMENDS
Description: multicast proxy for networks without multicast (cloud VPCs)
 multis copies an application's multicast datagrams to unicast members; multic
 turns them back into multicast on each member. Runs on the .NET 10 runtime.
CONTROL
  { echo '#!/bin/sh'; echo 'set -e'; echo '[ "$1" = configure ] || exit 0'; script_post; } > "$work/DEBIAN/postinst"
  { echo '#!/bin/sh'; echo 'set -e'; echo '[ "$1" = remove ] || exit 0'; script_preremove; } > "$work/DEBIAN/prerm"
  { echo '#!/bin/sh'; echo 'set -e'; script_postremove; } > "$work/DEBIAN/postrm"
  chmod 0755 "$work/DEBIAN/postinst" "$work/DEBIAN/prerm" "$work/DEBIAN/postrm"
  dpkg-deb --root-owner-group -Zgzip -z6 --build "$work" "$dest/${PACKAGE_NAME}_${PACKAGE_VERSION}-${PACKAGE_RELEASE}_${arch}.deb" >/dev/null
  rm -rf "$work"
}

build_rpm() {
  local stage=$1 dest=$2 top spec path
  top=$(mktemp -d)
  mkdir -p "$top"/{BUILD,RPMS,SOURCES,SPECS,SRPMS}
  spec="$top/SPECS/$PACKAGE_NAME.spec"
  {
    cat <<SPEC
Name: $PACKAGE_NAME
Version: $PACKAGE_VERSION
Release: $PACKAGE_RELEASE
Summary: Multicast proxy for networks without multicast (cloud VPCs)
License: Proprietary
Requires: $RPM_REQUIRES
Recommends: $RPM_RECOMMENDS
# The payload is a published .NET app: no stripping, no debug package, no generated library dependencies.
AutoReqProv: no
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none

%description
multis copies an application's multicast datagrams to unicast members; multic turns them back into multicast on
each member. Runs on the .NET 10 runtime.

%install
mkdir -p %{buildroot}
cp -a $stage/. %{buildroot}/

%post
SPEC
    script_post
    echo '%preun'
    echo 'if [ "$1" -eq 0 ]; then'
    script_preremove
    echo 'fi'
    echo '%postun'
    script_postremove
    echo '%files'
    echo '%defattr(-,root,root,-)'
    # Directories the package owns; everything else is listed file by file.
    while IFS= read -r path; do
      case "$path" in
        "$PREFIX/lib/multicast"|"$PREFIX/lib/multicast/"*|"$PREFIX/share/doc/multicast"|"$CONFIG_DIR") echo "%dir $path" ;;
      esac
    done < <(cd "$stage" && find . -type d | sed 's|^\.||' | sort)
    (cd "$stage" && find . ! -type d | sed 's|^\.||' | sort)
  } > "$spec"
  rpmbuild -bb --quiet --define "_topdir $top" --define "_binary_payload w6.gzdio" --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" "$spec" >/dev/null
  for path in "$top"/RPMS/*.rpm; do cp "$path" "$dest/"; done
  rm -rf "$top"
}

do_package() {
  command -v dpkg-deb >/dev/null 2>&1 || { say "error: dpkg-deb is missing (sudo apt-get install -y dpkg)"; exit 1; }
  if ! command -v rpmbuild >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing rpm (for rpmbuild)"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rpm >/dev/null
    else
      say "error: rpmbuild is missing (sudo apt-get install -y rpm)"; exit 1
    fi
  fi
  need_app
  local stage dest=${PACKAGE_DIR:-$OUT/packages}
  stage=$(mktemp -d)
  chmod 0755 "$stage"
  DESTDIR=$stage stage_files "$stage"
  rm -rf "$dest"
  mkdir -p "$dest"
  build_deb "$stage" "$dest"
  build_rpm "$stage" "$dest"
  rm -rf "$stage"
  say "packages: $(cd "$dest" && echo *)"
  ls "$dest"/*.deb "$dest"/*.rpm
}

case "${1:-build}" in
  build) ensure_prerequisites; build_native; publish_app; say "built: out/bin/ (try, as root: out/bin/multicast demo)" ;;
  test) ensure_prerequisites; build_native; publish_app; run_tests ;;
  install) do_install ;;
  uninstall) do_uninstall ;;
  package) do_package ;;
  bench) shift; ensure_prerequisites; build_native; publish_app; exec "$OUT/bin/multicast" bench "$@" ;;
  publish-windows) ensure_prerequisites; publish_windows ;;
  *) say "usage: ./build.sh [build|test|bench [ARGS]|install|uninstall|package|publish-windows]"; exit 2 ;;
esac
