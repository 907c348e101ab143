#!/usr/bin/env bash
# Builds the Debian package with cpack, checks its control data and contents, installs it with
# dpkg into a throwaway root, runs the installed binary, and has systemd-analyze verify the unit
# and score its sandbox. Reinstall, remove and purge check that the environment file is a conffile.
#
#   tests/packaging/deb_test.sh BUILD_DIR SOURCE_DIR [CPACK]
#
# The root gets the host's dpkg records of the packages the .deb depends on, so dpkg checks the
# declared dependencies against what Debian 12 really ships instead of being told to ignore them.
# Maintainer scripts run outside the root (--force-script-chrootless: the empty root has no shell)
# with DPKG_ROOT set, which they honour.
set -euo pipefail

build=${1:?usage: deb_test.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: deb_test.sh BUILD_DIR SOURCE_DIR}
cpack=${3:-cpack}
# Any exposure above this (systemd-analyze's 0-100 scale; 11 is "1.1") means hardening was lost.
max_exposure=11

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

tmp=$(mktemp -d -t taskman-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
dpkg_root() { dpkg --root="$root" --force-not-root --force-script-chrootless --log=/dev/null "$@"; }
status_of() { dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' taskman 2>/dev/null || true; }

step "cpack"
"$cpack" --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack"; }
debs=("$tmp"/out/taskman_*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || fail "expected one taskman_*.deb in $tmp/out, found: ${debs[*]}"
deb=${debs[0]}
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

step "control fields"
version=$(sed -n 's/^project(taskman VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[[ -n $version ]] || fail "no project version in $src/CMakeLists.txt"
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == taskman ]] || fail "Package: $(field Package)"
[[ $(field Version) == "$version-1" ]] || fail "Version: $(field Version), want $version-1"
[[ $(field Architecture) == "$(dpkg --print-architecture)" ]] || fail "Architecture: $(field Architecture)"
[[ $(field Section) == net ]] || fail "Section: $(field Section)"
[[ $(field Maintainer) == *@* ]] || fail "Maintainer: $(field Maintainer)"
[[ $(field Description | wc -l) -ge 3 ]] || fail "Description has no extended text"
depends=$(field Depends)
echo "Depends: $depends"

# Every library the binary links must come from a package named in Depends: each NEEDED entry is
# resolved with ldd and traced to its package with dpkg -S, independently of dpkg-shlibdeps.
bin=$build/taskman
for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  path=$(ldd "$bin" | awk -v l="$lib" '$1 == l { print $3 }')
  [[ -n $path ]] || fail "ldd does not resolve $lib"
  owner=""
  for p in "$path" "$(realpath "$path")" "/usr$path"; do
    owner=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1) && [[ -n $owner ]] && break
  done
  [[ -n $owner ]] || fail "no Debian package owns $path ($lib)"
  tr ',' '\n' <<<"$depends" | awk '{ print $1 }' | grep -qxF "$owner" ||
    fail "$lib comes from $owner, which Depends lacks"
  echo "$lib -> $owner: declared"
done

step "contents"
dpkg-deb -c "$deb" | awk '{ print $1, $6 }' >"$tmp/contents"
want_files=(./usr/bin/taskman ./lib/systemd/system/taskman.service ./etc/taskman/taskman.env
  ./usr/share/man/man1/taskman.1.gz)
for f in "$src"/deploy/prometheus/* "$src"/deploy/otel/*; do
  want_files+=("./usr/share/doc/taskman/examples/${f#"$src"/deploy/}")
done
for f in "${want_files[@]}"; do
  grep -q " $f\$" "$tmp/contents" || fail "$f is not in the package"
done
grep -q '^-rw------- ./etc/taskman/taskman.env$' "$tmp/contents" || fail "taskman.env is not 0600"
grep -q '^-rwxr-xr-x ./usr/bin/taskman$' "$tmp/contents" || fail "taskman is not 0755"
if grep -Ev ' \./(etc|lib|usr)/' "$tmp/contents" | grep -v ' \./$'; then fail "files outside /etc, /lib, /usr"; fi
if grep -q ' \./usr/local' "$tmp/contents"; then fail "files under /usr/local"; fi
[[ $(dpkg-deb -I "$deb" conffiles) == /etc/taskman/taskman.env ]] || fail "conffiles: $(dpkg-deb -I "$deb" conffiles)"
for s in postinst prerm postrm; do
  dpkg-deb -I "$deb" "$s" >"$tmp/$s" || fail "no $s"
  sh -n "$tmp/$s" || fail "$s: shell syntax"
done

step "dpkg -i into $root"
mkdir -p "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/triggers"
: >"$root/var/lib/dpkg/available"
: >"$root/var/lib/dpkg/status"
for dep in $(tr ',' '\n' <<<"$depends" | awk '{ print $1 }'); do
  dpkg-query -s "$dep" >>"$root/var/lib/dpkg/status" || fail "dependency $dep is not a Debian package here"
  echo >>"$root/var/lib/dpkg/status"
done
dpkg_root -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg -i"; }
[[ $(status_of) == "install ok installed" ]] || fail "status after install: $(status_of)"
# Control: without the dependencies' records dpkg must refuse, or the check above proves nothing.
mkdir -p "$tmp/bare/var/lib/dpkg/updates" "$tmp/bare/var/lib/dpkg/info"
: >"$tmp/bare/var/lib/dpkg/status"
if dpkg --root="$tmp/bare" --force-not-root --force-script-chrootless --log=/dev/null -i "$deb" >/dev/null 2>&1; then
  fail "dpkg -i into a root without the dependencies succeeded"
fi

step "installed binary"
out=$("$root/usr/bin/taskman" version)
[[ $out == "taskman $version ("* ]] || fail "taskman version printed: $out"
[[ $("$root/usr/bin/taskman" --version) == "$out" ]] || fail "taskman --version differs from taskman version"
readelf -S "$root/usr/bin/taskman" | grep -q '\.symtab' && fail "the packaged binary is not stripped"
echo "$out"
# The shipped environment file is valid and keeps everything on loopback with the database in the state dir.
mkdir "$tmp/cwd"
(cd "$tmp/cwd" && "$root/usr/bin/taskman" config check --env-file "$root/etc/taskman/taskman.env") >"$tmp/check" 2>&1 ||
  { cat "$tmp/check" >&2; fail "config check of the shipped taskman.env"; }
for expect in 'HOST +"127.0.0.1"' 'API_HOST +"127.0.0.1"' 'DATABASE_URL +"sqlite:/var/lib/taskman/taskman.db"'; do
  grep -Eq "^$expect  \[\.env file\]" "$tmp/check" ||
    { cat "$tmp/check" >&2; fail "config check: no $expect from the file"; }
done
zcat "$root/usr/share/man/man1/taskman.1.gz" | groff -man -ww -z 2>"$tmp/groff" && [[ ! -s $tmp/groff ]] ||
  { cat "$tmp/groff" >&2; fail "the installed man page does not render cleanly"; }

step "unit"
unit=$root/lib/systemd/system/taskman.service
for line in 'ExecStart=/usr/bin/taskman serve' 'EnvironmentFile=-/etc/taskman/taskman.env' 'DynamicUser=yes' \
  'StateDirectory=taskman' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes' \
  'Restart=on-failure' 'KillSignal=SIGTERM'; do
  grep -qx "$line" "$unit" || fail "unit lacks $line"
done
stop_s=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\{0,1\}$/\1/p' "$unit")
drain_ms=$(sed -n 's/^SHUTDOWN_TIMEOUT_MS=\([0-9]*\)$/\1/p' "$root/etc/taskman/taskman.env")
[[ -n $stop_s && -n $drain_ms ]] || fail "TimeoutStopSec or SHUTDOWN_TIMEOUT_MS not found"
((stop_s * 1000 > drain_ms)) || fail "TimeoutStopSec=${stop_s}s does not exceed SHUTDOWN_TIMEOUT_MS=$drain_ms"
# verify resolves ExecStart and the man page inside the root; the units it depends on
# (sysinit.target, ...) are the host's, as on any machine that has systemd installed.
cp -an /lib/systemd/system/. "$root/lib/systemd/system/"
MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" taskman.service >"$tmp/verify" 2>&1 ||
  { cat "$tmp/verify" >&2; fail "systemd-analyze verify"; }
[[ ! -s $tmp/verify ]] || { cat "$tmp/verify" >&2; fail "systemd-analyze verify warned"; }
systemd-analyze security --offline=yes --root="$root" --threshold=$max_exposure taskman.service >"$tmp/security" 2>&1 ||
  { cat "$tmp/security" >&2; fail "systemd-analyze security: exposure above $max_exposure"; }
grep 'Overall exposure level' "$tmp/security"

step "conffile kept across reinstall, removal; gone on purge"
echo 'LOG_LEVEL=debug' >>"$root/etc/taskman/taskman.env"
dpkg_root -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg -i again"; }
grep -qx 'LOG_LEVEL=debug' "$root/etc/taskman/taskman.env" || fail "reinstall overwrote the edited taskman.env"
dpkg_root -r taskman >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg -r"; }
[[ ! -e $root/usr/bin/taskman && ! -e $unit ]] || fail "dpkg -r left the binary or the unit"
[[ -f $root/etc/taskman/taskman.env ]] || fail "dpkg -r removed the conffile"
[[ $(status_of) == "deinstall ok config-files" ]] || fail "status after remove: $(status_of)"
dpkg_root -P taskman >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg -P"; }
[[ ! -e $root/etc/taskman/taskman.env ]] || fail "dpkg -P left taskman.env"

echo "PASS"
