#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-debs.sh [--worktree] [--build-in-root] [--keep] [--mirror URL]
#              [--cache-dir DIR | --no-cache]
#
# Builds the Debian packages of tokenwatch (debian/) from a clean copy of the
# repository, installs them into a throw-away Debian 12 root with apt (so
# that their dependencies resolve from the mirror), and checks that they put
# everything in place and that the service works there: D-Bus activation
# starts tokenwatchd as the user tokenwatch and tokenwatchctl gets answers.
# Output is TAP; the exit status is 0 only when every check passed.
#
#   (default)        clone HEAD of the repository this script is in
#   --worktree       copy the working tree instead (tracked and untracked
#                    files that .gitignore does not exclude): uncommitted
#                    changes get tested
#   --build-in-root  build in a second throw-away root that has only the
#                    Build-Depends of debian/control (apt-get build-dep), as
#                    an unprivileged user, instead of on this machine: proves
#                    Build-Depends complete, and this machine then needs no
#                    build dependencies
#   --keep           keep the temporary directory (build logs, the roots)
#   --mirror URL     Debian mirror (default http://deb.debian.org/debian,
#                    or $TOKENWATCH_TEST_MIRROR)
#   --cache-dir DIR  where the bootstrapped root and the downloaded packages
#                    are kept between runs (default /var/cache/tokenwatch-test,
#                    or $TOKENWATCH_TEST_CACHE); --no-cache: none
#
# The root is cached as a tarball keyed on suite, variant, architecture,
# mirrors and debootstrap's version, and made again when it is older than
# $TOKENWATCH_TEST_CACHE_DAYS (default 30) days; apt's downloads are kept
# beside it. A first run takes minutes (debootstrap), later ones do not.
#
# Needs root (debootstrap, chroot, mounts), debootstrap, dpkg-dev, the
# mirror, and (without --build-in-root) the build dependencies of
# debian/control; lintian is run when installed.
# Everything runs in private mount and PID namespaces: every mount and
# process of the test goes away with it, even when it is killed.
# Exit codes: 0 all passed, 1 a check failed, 77 a prerequisite is missing.

set -euo pipefail

suite=bookworm
variant=minbase
mirror=${TOKENWATCH_TEST_MIRROR:-http://deb.debian.org/debian}
cache_dir=${TOKENWATCH_TEST_CACHE:-/var/cache/tokenwatch-test}
cache_days=${TOKENWATCH_TEST_CACHE_DAYS:-30}
worktree=false
build_in_root=false
keep=false

usage() {
	sed -n '4,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--worktree) worktree=true ;;
	--build-in-root) build_in_root=true ;;
	--keep) keep=true ;;
	--mirror) mirror=${2:?--mirror needs a URL}; shift ;;
	--mirror=*) mirror=${1#*=} ;;
	--cache-dir) cache_dir=${2:?--cache-dir needs a directory}; shift ;;
	--cache-dir=*) cache_dir=${1#*=} ;;
	--no-cache) cache_dir= ;;
	-h | --help) usage ;;
	*) echo "unknown argument: $1" >&2; usage ;;
	esac
	shift
done

skip_all() {
	echo "1..0 # SKIP $*"
	exit 77
}

script=$(readlink -f "${BASH_SOURCE[0]}")

# --- into private namespaces ------------------------------------------------
if [[ -z ${TW_TEST_DEBS_NAMESPACED:-} ]]; then
	[[ $(id -u) -eq 0 ]] || skip_all "needs root (debootstrap, chroot, mounts)"
	for tool in git dpkg-parsechangelog dpkg-architecture debootstrap chroot unshare mount umount flock; do
		command -v "$tool" >/dev/null || skip_all "$tool not found (Debian: scripts/deps-debian.txt)"
	done
	export TW_TEST_DEBS_NAMESPACED=1
	# the mount namespace takes our mounts with it, the PID namespace our
	# processes (dbus-daemon, tokenwatchd, pcscd in the root): nothing
	# outlives the test, whatever happens to it
	args=()
	$worktree && args+=(--worktree)
	$build_in_root && args+=(--build-in-root)
	$keep && args+=(--keep)
	args+=(--mirror "$mirror")
	if [[ -n $cache_dir ]]; then args+=(--cache-dir "$cache_dir"); else args+=(--no-cache); fi
	unshare --mount --pid --fork --kill-child=SIGTERM --mount-proc --propagation private \
		-- /bin/bash "$script" "${args[@]}" &
	ns_pid=$!
	# unshare ignores SIGINT and SIGTERM while it waits: hand them on, as
	# SIGTERM, to the test inside (PID 1 there), whose trap cleans up
	# shellcheck disable=SC2317 # called by the trap
	forward() {
		local child
		child=$(cat "/proc/$ns_pid/task/$ns_pid/children" 2>/dev/null || true)
		[[ -z $child ]] || kill -TERM "${child% }" 2>/dev/null || true
	}
	trap forward INT TERM HUP
	while :; do
		rc=0
		wait "$ns_pid" || rc=$?
		kill -0 "$ns_pid" 2>/dev/null || break
	done
	exit "$rc"
fi

repo=$(git -C "$(dirname "$script")" rev-parse --show-toplevel)
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
case $mirror in
*/debian) security_mirror=${mirror%/debian}/debian-security ;;
*) security_mirror=http://deb.debian.org/debian-security ;;
esac

# --- TAP ----------------------------------------------------------------------
n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $*"
}
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}
diag() {
	sed 's/^/# /'
}
# check WHAT COMMAND...: one test point; the command's output is shown
# (as diagnostics) only when it fails
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$what"
	else
		not_ok "$what"
		[[ -z $out ]] || printf '%s\n' "$out" | tail -n 30 | diag
	fi
}
bail() {
	echo "Bail out! $*"
	exit 1
}
started=$SECONDS
phase_start=$SECONDS
phase() {
	echo "# $1: $((SECONDS - phase_start)) s"
	phase_start=$SECONDS
}

# --- the temporary directory and its cleanup ---------------------------------
tmp=$(mktemp -d /var/tmp/tokenwatch-test-debs.XXXXXX)
root=$tmp/root
logs=$tmp/logs
mkdir -p "$logs"

# the mount points under DIR, deepest first
mounts_under() {
	awk -v dir="$1" '{ gsub(/\\040/, " ", $5); if ($5 == dir || index($5, dir "/") == 1) print $5 }' \
		/proc/self/mountinfo | sort -r
}

cleanup() {
	local rc=$? pid i m
	set +e
	# the processes in the roots: only ours (this PID namespace is ours)
	for i in 1 2 3 4 5 6 7 8 9 10 11; do
		local pids=()
		for pid in /proc/[0-9]*; do
			pid=${pid#/proc/}
			[[ $(readlink "/proc/$pid/root" 2>/dev/null) == "$tmp"/* ]] && pids+=("$pid")
		done
		[[ ${#pids[@]} -eq 0 ]] && break
		if [[ $i -eq 1 ]]; then
			kill -TERM "${pids[@]}" 2>/dev/null
		elif [[ $i -eq 11 ]]; then
			kill -KILL "${pids[@]}" 2>/dev/null
			sleep 0.5
		else
			sleep 0.5
		fi
	done
	for m in $(mounts_under "$tmp"); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	if [[ -n $(mounts_under "$tmp") ]]; then
		echo "# still mounted under $tmp, not removing it:" >&2
		mounts_under "$tmp" | diag >&2
	elif $keep; then
		echo "# kept: $tmp"
	else
		rm -rf --one-file-system "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

echo "# tokenwatch Debian packages: $repo ($($worktree && echo 'working tree' || echo 'HEAD')), $suite $arch, $mirror"

# --- 1. the source ---------------------------------------------------------------
src=$tmp/src/tokenwatch
mkdir -p "$src"
if $worktree; then
	# tracked and untracked files that .gitignore does not exclude (so no
	# build-* directories); deleted ones are skipped
	(cd "$repo" && git ls-files -z --cached --others --exclude-standard) |
		(cd "$repo" && while IFS= read -r -d '' f; do
			[[ -e $f || -L $f ]] && printf '%s\0' "$f"
		done) | tar -C "$repo" --null --no-recursion -T - -cf - | tar -C "$src" -xf -
	desc="working tree"
else
	git clone --quiet --no-hardlinks "$repo" "$src" >"$logs/clone.log" 2>&1 ||
		{ diag <"$logs/clone.log"; bail "git clone $repo failed"; }
	desc="HEAD $(git -C "$src" rev-parse --short HEAD)"
fi
[[ -f $src/debian/control ]] ||
	bail "no debian/control in the $desc of $repo (not committed yet? try --worktree)"
ok "source: $desc of $repo copied to a temporary directory"

# --- 2. the Debian 12 root ----------------------------------------------------------
debootstrap_version=$(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null || echo unknown)
# what makes the root: change root_format when bootstrap() changes
root_format=1
key=$(printf '%s\n' "$root_format" "$suite" "$variant" "$arch" "$mirror" "$security_mirror" \
	"$debootstrap_version" | sha256sum | cut -c1-16)
compress=(--zstd) ext=tar.zst
command -v zstd >/dev/null || { compress=(--gzip) ext=tar.gz; }
tarball=
archives=
if [[ -n $cache_dir ]]; then
	if mkdir -p "$cache_dir/apt-archives-$arch/partial" 2>/dev/null && [[ -w $cache_dir ]]; then
		tarball=$cache_dir/root-$suite-$variant-$arch-$key.$ext
		archives=$cache_dir/apt-archives-$arch
	else
		echo "# cache directory $cache_dir not writable: no cache"
	fi
fi

sources_list() {
	cat <<-EOF
		deb $mirror $suite main
		deb $mirror $suite-updates main
		deb $security_mirror $suite-security main
	EOF
}

# bootstrap DIR: a minimal Debian root with its package lists
bootstrap() {
	local dir=$1
	debootstrap --variant="$variant" --arch="$arch" "$suite" "$dir" "$mirror" \
		>"$logs/debootstrap.log" 2>&1 || {
		tail -n 30 "$logs/debootstrap.log" | diag
		return 1
	}
	sources_list >"$dir/etc/apt/sources.list"
	cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
	mount -t proc proc "$dir/proc"
	chroot "$dir" apt-get -q update >"$logs/bootstrap-update.log" 2>&1 || {
		umount "$dir/proc"
		diag <"$logs/bootstrap-update.log"
		return 1
	}
	chroot "$dir" apt-get clean
	umount "$dir/proc"
}

# base: the cached tarball, or (no cache) a root made once for this run
base=$tmp/base
mkdir -p "$base"
from_cache=false
if [[ -n $tarball ]]; then
	exec 9>"$cache_dir/.lock"
	flock -w 3600 9 || bail "cannot lock $cache_dir/.lock"
	if [[ -f $tarball ]] && [[ -z $(find "$tarball" -mtime +"$cache_days") ]]; then
		from_cache=true
	else
		bootstrap "$base" || bail "debootstrap $suite failed"
		part=$(mktemp "$tarball.XXXXXX")
		if tar -C "$base" --numeric-owner "${compress[@]}" -cf "$part" . && mv "$part" "$tarball"; then
			# older roots go
			find "$cache_dir" -maxdepth 1 -name "root-$suite-$variant-$arch-*.tar*" ! -name "${tarball##*/}" -delete
		else
			rm -f "$part"
			tarball=
			echo "# could not write the cache: not cached"
		fi
	fi
	flock -u 9
else
	bootstrap "$base" || bail "debootstrap $suite failed"
fi
if $from_cache; then
	ok "Debian 12 root: from the cache (${tarball##*/}, $(($(date +%s) - $(stat -c %Y "$tarball")))s old)"
else
	ok "Debian 12 root: debootstrap --variant=$variant $suite $mirror"
fi

# new_root DIR: a fresh copy of the base, with its own /proc, /dev, /run
# and apt's download cache; no service may start in it on installation
new_root() {
	local dir=$1
	mkdir -p "$dir"
	if [[ -n $tarball ]]; then
		tar -C "$dir" --numeric-owner "${compress[@]}" -xf "$tarball"
	else
		cp -a "$base/." "$dir/"
	fi
	mount -t proc proc "$dir/proc"
	mount --bind /dev "$dir/dev"
	mount --bind /dev/pts "$dir/dev/pts"
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$dir/run"
	if [[ -n $archives ]]; then
		mount --bind "$archives" "$dir/var/cache/apt/archives"
	fi
	cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
	printf '#!/bin/sh\n# tests/packaging/test-debs.sh: no services\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 0755 "$dir/usr/sbin/policy-rc.d"
}

# in_root DIR COMMAND...: runs COMMAND in the root DIR with a clean environment
in_root() {
	local dir=$1
	shift
	chroot "$dir" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
# inroot COMMAND...: in the root the packages are tested in
inroot() {
	in_root "$root" "$@"
}
# asuser COMMAND...: the same as nobody, an ordinary unprivileged user
asuser() {
	inroot setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/nonexistent "$@"
}
# apt_in DIR ARGS...: apt-get ARGS in the root DIR; runs that share the
# download cache take turns
apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o APT::Sandbox::User=root)
[[ -z $archives ]] || exec 8>"$cache_dir/.apt-lock"
apt_in() {
	local dir=$1 rc=0
	shift
	[[ -z $archives ]] || flock -w 1800 8 || return 1
	in_root "$dir" apt-get "${apt_opts[@]}" "$@" || rc=$?
	[[ -z $archives ]] || flock -u 8
	return "$rc"
}
phase "root"

# --- 3. the build ----------------------------------------------------------------
version=$(cd "$src" && dpkg-parsechangelog -S Version)
build_env=(DEB_BUILD_OPTIONS="nocheck noddebs parallel=2")
if $build_in_root; then
	# a root of its own with nothing but Build-Depends, the build as nobody
	broot=$tmp/buildroot
	new_root "$broot"
	mkdir -p "$broot/build"
	cp -a "$src" "$broot/build/"
	chown -R 65534:65534 "$broot/build"
	if apt_in "$broot" update >"$logs/builddeps.log" 2>&1 &&
		apt_in "$broot" --no-install-recommends build-dep /build/tokenwatch \
			>>"$logs/builddeps.log" 2>&1; then
		ok "a clean root gets the Build-Depends of debian/control (apt-get build-dep)"
	else
		not_ok "a clean root gets the Build-Depends of debian/control (apt-get build-dep)"
		tail -n 30 "$logs/builddeps.log" | diag
		bail "the build dependencies do not install"
	fi
	if in_root "$broot" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env HOME=/build "${build_env[@]}" sh -c 'cd /build/tokenwatch && dpkg-buildpackage -us -uc -b' \
		>"$logs/build.log" 2>&1; then
		ok "dpkg-buildpackage -us -uc -b builds tokenwatch $version there, as nobody"
	else
		not_ok "dpkg-buildpackage -us -uc -b builds tokenwatch $version there, as nobody"
		tail -n 40 "$logs/build.log" | diag
		bail "the packages do not build"
	fi
	cp "$broot"/build/*.deb "$broot"/build/*.changes "$broot"/build/*.buildinfo "$tmp/src/"
else
	if ! (cd "$src" && dpkg-checkbuilddeps) >"$logs/builddeps.log" 2>&1; then
		not_ok "build dependencies of debian/control installed"
		diag <"$logs/builddeps.log"
		bail "install the build dependencies (./scripts/install-deps.sh or apt-get build-dep ./), or use --build-in-root"
	fi
	ok "build dependencies of debian/control installed"
	if (cd "$src" && env "${build_env[@]}" dpkg-buildpackage -us -uc -b) >"$logs/build.log" 2>&1; then
		ok "dpkg-buildpackage -us -uc -b builds tokenwatch $version"
	else
		not_ok "dpkg-buildpackage -us -uc -b builds tokenwatch $version"
		tail -n 40 "$logs/build.log" | diag
		bail "the packages do not build"
	fi
fi
phase "build"

packages=$(sed -n 's/^Package: *//p' "$src/debian/control")
debs=()
missing=()
for p in $packages; do
	deb=$tmp/src/${p}_${version}_$arch.deb
	[[ -f $deb ]] || deb=$tmp/src/${p}_${version}_all.deb
	if [[ -f $deb ]]; then debs+=("$deb"); else missing+=("$p"); fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
	ok "every package of debian/control built: $(tr '\n' ' ' <<<"$packages")"
else
	not_ok "every package of debian/control built (missing: ${missing[*]})"
	bail "packages missing"
fi

# dpkg-gensymbols only warns when the library's symbols and
# debian/libtokenwatch0.symbols differ; here that is a failure
if grep -q 'dpkg-gensymbols: warning' "$logs/build.log"; then
	not_ok "debian/libtokenwatch0.symbols lists exactly the library's symbols"
	# the warnings, then the diff: lines from "---", "+++", "@@", " ", "+", "-"
	awk '/^dpkg-gensymbols: warning/ { on = 1; print; next }
	     /^(   dh_| dpkg-)/ { on = 0 }
	     on && /^(---|\+\+\+|@@|[ +-])/ { print; next }
	     { on = 0 }' "$logs/build.log" | head -n 60 | diag
	echo "# make it again: see debian/README.source"
else
	ok "debian/libtokenwatch0.symbols lists exactly the library's symbols"
fi

if command -v lintian >/dev/null; then
	lintian_rc=0
	lintian --display-info --display-experimental --pedantic --fail-on error,warning \
		"$tmp/src/tokenwatch_${version}_$arch.changes" >"$logs/lintian.log" 2>&1 || lintian_rc=$?
	if [[ $lintian_rc -eq 0 ]]; then
		ok "lintian: no errors or warnings"
	else
		not_ok "lintian: no errors or warnings"
	fi
	grep -v 'running with root privileges' "$logs/lintian.log" | diag || true
	phase "lintian"
else
	skip "lintian: no errors or warnings" "lintian not installed"
fi

# --- 4. installation ----------------------------------------------------------------
root=$tmp/root
new_root "$root"
mkdir -p "$root/tmp/debs"
cp "${debs[@]}" "$root/tmp/debs/"
debs_in_root=()
for deb in "${debs[@]}"; do
	debs_in_root+=("/tmp/debs/${deb##*/}")
done
chmod 0755 "$root/tmp/debs"
chmod 0644 "$root"/tmp/debs/*.deb
if apt_in "$root" update >"$logs/update.log" 2>&1 &&
	apt_in "$root" install "${debs_in_root[@]}" python3-gi >"$logs/install.log" 2>&1; then
	ok "apt-get install ./*.deb: $(grep -c '^Setting up ' "$logs/install.log") packages set up, dependencies from the mirror"
else
	not_ok "apt-get install ./*.deb (dependencies from the mirror)"
	cat "$logs/update.log" "$logs/install.log" | tail -n 40 | diag
	bail "the packages do not install"
fi
# stale downloads leave the cache
[[ -z $archives ]] || apt_in "$root" autoclean >/dev/null 2>&1 || true
phase "installation"

for p in $packages; do
	# shellcheck disable=SC2016 # dpkg-query's ${...}, not the shell's
	status=$(inroot dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	check "$p is installed (dpkg status ${status% })" test "${status% }" = ii
done

# --- 5. files in place --------------------------------------------------------------
# ships PACKAGE PATH: PATH exists in the root and belongs to PACKAGE
ships() {
	local pkg=$1 path=$2 owner
	# "libtokenwatch0:amd64: PATH" for Multi-Arch: same packages
	owner=$(inroot dpkg-query -S "$path" 2>/dev/null | sed -n "s|: $path\$||p" | head -n 1)
	owner=${owner%:"$arch"}
	if [[ -e $root$path && $owner == "$pkg" ]]; then
		ok "$pkg ships $path"
	else
		not_ok "$pkg ships $path (exists: $([[ -e $root$path ]] && echo yes || echo no), owner: ${owner:-none})"
	fi
}

unit=$(inroot dpkg-query -L tokenwatchd | grep '/systemd/system/tokenwatch\.service$' | head -n 1 || true)
ships tokenwatchd "${unit:-/lib/systemd/system/tokenwatch.service}"
ships tokenwatchd /usr/libexec/tokenwatchd
ships tokenwatchd /usr/share/dbus-1/system-services/io.github.tokenwatch.TokenWatch1.service
ships tokenwatchd /usr/share/dbus-1/system.d/io.github.tokenwatch.TokenWatch1.conf
ships tokenwatchd /usr/share/polkit-1/actions/io.github.tokenwatch.policy
ships tokenwatchd /usr/share/polkit-1/rules.d/tokenwatch-pcscd.rules
ships tokenwatchd /usr/lib/sysusers.d/tokenwatch.conf
ships tokenwatchd /etc/tokenwatch/tokenwatch.conf
ships tokenwatchd /usr/share/tokenwatch/devices
ships tokenwatchd /usr/share/man/man8/tokenwatchd.8.gz
ships tokenwatchd /usr/share/man/man5/tokenwatch.conf.5.gz
ships tokenwatchd /usr/bin/tokenwatchctl
ships tokenwatchd /usr/share/man/man1/tokenwatchctl.1.gz
ships tokenwatchd /usr/share/bash-completion/completions/tokenwatchctl
ships tokenwatchd /usr/share/zsh/vendor-completions/_tokenwatchctl
ships tokenwatchd /usr/share/locale/cs/LC_MESSAGES/tokenwatch.mo
ships tokenwatchd /usr/lib/systemd/catalog/tokenwatch.catalog
ships tokenwatch-agent /usr/bin/tokenwatch-agent
ships tokenwatch-agent /usr/lib/systemd/user/tokenwatch-agent.service
ships tokenwatch-agent /etc/xdg/autostart/tokenwatch-agent.desktop
ships tokenwatch-agent /usr/share/man/man1/tokenwatch-agent.1.gz
ships libtokenwatch0 "/usr/lib/$multiarch/libtokenwatch.so.0"
ships libtokenwatch-dev "/usr/lib/$multiarch/libtokenwatch.so"
ships libtokenwatch-dev "/usr/lib/$multiarch/pkgconfig/tokenwatch.pc"
ships libtokenwatch-dev /usr/include/tokenwatch-1/tokenwatch.h
ships libtokenwatch-dev /usr/share/gir-1.0/Tokenwatch-1.0.gir
ships libtokenwatch-dev /usr/share/dbus-1/interfaces/io.github.tokenwatch.TokenWatch1.Manager.xml
ships gir1.2-tokenwatch-1.0 "/usr/lib/$multiarch/girepository-1.0/Tokenwatch-1.0.typelib"
ships tokenwatch-doc /usr/share/doc/tokenwatch/examples/tokenwatch-list.py
ships tokenwatch-doc /usr/share/doc/tokenwatch/dbus/dbus-api.html
ships tokenwatch-doc /usr/share/doc/tokenwatch/libtokenwatch/index.html
ships tokenwatch-doc /usr/share/doc/tokenwatch/libtokenwatch/index.json
check "devhelp finds the library reference (/usr/share/devhelp/books/libtokenwatch)" \
	test -f "$root/usr/share/devhelp/books/libtokenwatch/libtokenwatch.devhelp2"

check "tokenwatch-agent --help runs (its libraries resolve)" asuser tokenwatch-agent --help
check "tokenwatchctl --help runs" asuser tokenwatchctl --help

# shellcheck disable=SC2016 # dpkg-query's ${...}, not the shell's
check "/etc/tokenwatch/tokenwatch.conf is a conffile of tokenwatchd" \
	grep -q '^ /etc/tokenwatch/tokenwatch.conf ' <<<"$(inroot dpkg-query -W -f='${Conffiles}\n' tokenwatchd)"
check "pkg-config finds tokenwatch $version" \
	test "$(inroot pkg-config --modversion tokenwatch 2>&1)" = "$version"
check "pkg-config --cflags --libs tokenwatch works (its Requires: are installed)" \
	inroot pkg-config --cflags --libs tokenwatch

# --- 6. what the maintainer scripts did -------------------------------------------
pw=$(inroot getent passwd tokenwatch || true)
IFS=: read -r _ _ tw_uid tw_gid _ tw_home tw_shell <<<"${pw:-::::::}"
check "system user tokenwatch made by systemd-sysusers (uid $tw_uid, home $tw_home, shell $tw_shell)" \
	test -n "$pw" -a "${tw_uid:-1000}" -lt 1000 -a "$tw_home" = /var/lib/tokenwatch -a "$tw_shell" = /usr/sbin/nologin
check "group tokenwatch exists" inroot getent group tokenwatch
check "/var/lib/tokenwatch belongs to tokenwatch, mode 700" \
	test "$(stat -c '%u:%g %a' "$root/var/lib/tokenwatch" 2>&1)" = "$tw_uid:$tw_gid 700"
check "tokenwatch.service enabled (multi-user.target.wants)" \
	test -L "$root/etc/systemd/system/multi-user.target.wants/tokenwatch.service"
check "tokenwatch.service's Alias= for D-Bus activation enabled" \
	test -L "$root/etc/systemd/system/dbus-io.github.tokenwatch.TokenWatch1.service"
check "tokenwatch-agent.service not enabled globally (XDG autostart starts the agent)" \
	test ! -e "$root/etc/systemd/user/graphical-session.target.wants/tokenwatch-agent.service"

if [[ -n $unit ]] && inroot test -x /usr/bin/systemd-analyze; then
	# systemd-analyze exits 0 on unknown keys and the like: any output fails
	out=$(inroot env SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "$unit" 2>&1) && rc=0 || rc=$?
	if [[ $rc -eq 0 && -z $out ]]; then
		ok "systemd-analyze verify $unit (in the root): clean"
	else
		not_ok "systemd-analyze verify $unit (in the root): clean"
		printf '%s\n' "$out" | diag
	fi
	check "systemd-analyze security --offline=true: exposure at most 2.0 (docs/security.md)" \
		inroot systemd-analyze security --offline=true --threshold=20 "$unit"
else
	skip "systemd-analyze verify (in the root)" "no unit or no systemd-analyze in the root"
fi
phase "files and maintainer scripts"

# --- 7. the service, D-Bus activated -----------------------------------------------
# pid_of NAME: the process called NAME in the root
pid_of() {
	local pid
	for pid in /proc/[0-9]*; do
		[[ $(cat "$pid/comm" 2>/dev/null) == "$1" && $(readlink "$pid/root" 2>/dev/null) == "$root" ]] &&
			{ echo "${pid#/proc/}"; return 0; }
	done
	return 1
}

# a system bus in the root; no systemd there, so dbus-daemon activates
# tokenwatchd itself through dbus-daemon-launch-helper: the activation
# file's Exec= as its User=
mkdir -p "$root/run/dbus"
inroot dbus-daemon --system --nofork --nopidfile --nosyslog >"$logs/dbus-daemon.log" 2>&1 &
dbus_job=$!
for _ in $(seq 100); do
	[[ -S $root/run/dbus/system_bus_socket ]] && break
	kill -0 "$dbus_job" 2>/dev/null || break
	sleep 0.1
done
dbus_pid=$(pid_of dbus-daemon || true)
if [[ -S $root/run/dbus/system_bus_socket && -n $dbus_pid ]]; then
	ok "a system dbus-daemon runs in the root (it accepts the bus policy)"
else
	not_ok "a system dbus-daemon runs in the root (it accepts the bus policy)"
	diag <"$logs/dbus-daemon.log"
	bail "no system bus"
fi

out=$(asuser timeout 60 tokenwatchctl status 2>&1) && rc=0 || rc=$?
if [[ $rc -eq 0 ]] && grep -q "tokenwatchd version.*$version" <<<"$out" && grep -q 'pcscd available.*no' <<<"$out"; then
	ok "tokenwatchctl status as nobody: D-Bus activation, tokenwatchd $version answers, pcscd not available"
else
	not_ok "tokenwatchctl status as nobody: D-Bus activation, tokenwatchd $version answers (exit $rc)"
fi
printf '%s\n' "$out" | diag

check "dbus-daemon activated tokenwatchd through its launch helper" \
	grep -q "Successfully activated service 'io.github.tokenwatch.TokenWatch1'" "$logs/dbus-daemon.log"
daemon_pid=$(pid_of tokenwatchd || true)
if [[ -n $daemon_pid ]]; then
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$daemon_pid/status")
	caps=$(awk '/^CapEff:/ { print $2 }' "/proc/$daemon_pid/status")
	check "tokenwatchd runs as the user tokenwatch (uid $uid) without capabilities (CapEff $caps)" \
		test "$uid" = "$tw_uid" -a "$caps" = 0000000000000000
else
	not_ok "tokenwatchd runs as the user tokenwatch (no tokenwatchd process)"
fi

out=$(asuser timeout 30 tokenwatchctl --json status 2>&1) && rc=0 || rc=$?
check "tokenwatchctl --json status: version $version, pcsc_available false" \
	inroot python3 -c '
import json, sys
s = json.loads(sys.argv[1])
assert s["version"] == sys.argv[2], s
assert s["pcsc_available"] is False, s
' "$out" "$version"

out=$(asuser env LC_ALL=C.UTF-8 LANGUAGE=cs timeout 30 tokenwatchctl status 2>&1) || true
check "tokenwatchctl speaks Czech (LANGUAGE=cs): the .mo file is in place" \
	grep -q 'Verze tokenwatchd' <<<"$out"

# libtokenwatch through GObject introspection, as a Python client uses it
out=$(asuser timeout 30 python3 /usr/share/doc/tokenwatch/examples/tokenwatch-list.py 2>&1) && rc=0 || rc=$?
if [[ $rc -eq 0 ]] && grep -q "tokenwatchd $version" <<<"$out"; then
	ok "the example client (Python, Tokenwatch-1.0 typelib) lists what tokenwatchd knows"
else
	not_ok "the example client (Python, Tokenwatch-1.0 typelib) lists what tokenwatchd knows (exit $rc)"
fi
printf '%s\n' "$out" | diag

# pcscd comes: tokenwatchd finds it by itself
if inroot test -x /usr/sbin/pcscd; then
	inroot pcscd --foreground >"$logs/pcscd.log" 2>&1 &
	pcscd_job=$!
	pcsc=no
	for _ in $(seq 60); do
		kill -0 "$pcscd_job" 2>/dev/null || break
		out=$(asuser timeout 10 tokenwatchctl --json status 2>&1) || true
		if grep -q '"pcsc_available" *: *true' <<<"$out"; then
			pcsc=yes
			break
		fi
		sleep 0.5
	done
	if [[ $pcsc == yes ]]; then
		ok "pcscd started in the root: tokenwatchd connects to it (pcscd available: yes)"
		# the installed system as tokenwatchctl doctor sees it
		out=$(asuser timeout 60 tokenwatchctl --json doctor 2>&1) && rc=0 || rc=$?
		check "tokenwatchctl doctor finds no problem (exit $rc; pcscd without readers is a warning)" \
			inroot python3 -c '
import json, sys
d = json.loads(sys.argv[1])
status = {f["check"]: f["status"] for f in d["findings"]}
assert sys.argv[2] == "0" and d["problems"] == 0, d
assert status.get("daemon") == "ok" and status.get("pcscd") in ("ok", "warning"), d
' "$out" "$rc"
		asuser timeout 60 tokenwatchctl doctor 2>&1 | diag || true
	else
		not_ok "pcscd started in the root: tokenwatchd connects to it"
		diag <"$logs/pcscd.log"
	fi
	pcscd_pid=$(pid_of pcscd || true)
	[[ -z $pcscd_pid ]] || kill -TERM "$pcscd_pid" 2>/dev/null || true
	wait "$pcscd_job" 2>/dev/null || true
else
	skip "pcscd started in the root: tokenwatchd connects to it" "no pcscd in the root"
fi

if [[ -n $daemon_pid ]]; then
	kill -TERM "$daemon_pid" 2>/dev/null || true
	gone=no
	for _ in $(seq 100); do
		[[ -d /proc/$daemon_pid ]] || { gone=yes; break; }
		# a zombie until dbus-daemon reaps it
		[[ $(awk '/^State:/ { print $2 }' "/proc/$daemon_pid/status" 2>/dev/null) == Z ]] && { gone=yes; break; }
		sleep 0.1
	done
	check "tokenwatchd stops on SIGTERM" test "$gone" = yes
fi
kill -TERM "$dbus_pid" 2>/dev/null || true
wait "$dbus_job" 2>/dev/null || true

# tokenwatchd runs as tokenwatch, not root: polkitd answers it about other
# users' calls only when it owns the actions (the policy's
# org.freedesktop.policykit.owner annotation); else every check fails with
# "Only trusted callers ..." and every non-root caller is refused.
if grep -q 'polkit could not check' "$logs/dbus-daemon.log"; then
	not_ok "polkitd answers tokenwatchd about its callers"
	grep -m 1 'polkit could not check' "$logs/dbus-daemon.log" | diag
elif grep -q "Successfully activated service 'org.freedesktop.PolicyKit1'" "$logs/dbus-daemon.log"; then
	ok "polkitd answers tokenwatchd about its callers"
else
	skip "polkitd answers tokenwatchd about its callers" "tokenwatchd did not ask polkitd (not installed?)"
fi
grep -v '^$' "$logs/dbus-daemon.log" | head -n 30 | diag || true
phase "service"

# --- 8. reinstallation and purge ----------------------------------------------------
check "apt-get install --reinstall (maintainer scripts run again)" \
	apt_in "$root" install --reinstall "${debs_in_root[@]}"
# shellcheck disable=SC2086
check "apt-get purge of every package" apt_in "$root" purge $packages
left=()
for path in /etc/tokenwatch /var/lib/tokenwatch /etc/systemd/system/multi-user.target.wants/tokenwatch.service \
	/etc/systemd/system/dbus-io.github.tokenwatch.TokenWatch1.service /usr/libexec/tokenwatchd \
	/etc/xdg/autostart/tokenwatch-agent.desktop; do
	[[ -e $root$path || -L $root$path ]] && left+=("$path")
done
for p in $packages; do
	# shellcheck disable=SC2016 # dpkg-query's ${...}, not the shell's
	status=$(inroot dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ -z ${status// /} || ${status% } == un ]] || left+=("$p (dpkg status ${status% })")
done
check "purge leaves nothing behind${left:+ (left: ${left[*]})} (the system user stays, as it should)" \
	test ${#left[@]} -eq 0
phase "purge"

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed, $((SECONDS - started)) s"
[[ $failed -eq 0 ]]
