#!/bin/sh
# npm run deb: builds the Debian package from this checkout and checks it with lintian.
# dpkg-buildpackage writes its results beside the source tree, so it runs in a copy of the
# checkout's files (the tracked ones and new ones not ignored) under a temporary directory, with
# the checkout's node_modules; the .deb and the lintian report end up in build/deb/, or in the
# directory NETAUDITD_DEB_OUT names (a test that installs it builds its own, so that two never
# replace each other's while one is installed).
# Installs what it is missing (dpkg-dev, debhelper, lintian, fakeroot) when run as root.
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
out=${NETAUDITD_DEB_OUT:-$repo/build/deb}

missing=
for pair in dpkg-dev:dpkg-buildpackage debhelper:dh lintian:lintian fakeroot:fakeroot; do
	command -v "${pair#*:}" >/dev/null 2>&1 || missing="$missing ${pair%%:*}"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "build-deb.sh: missing packages:$missing (install them with apt-get)" >&2
		exit 1
	fi
	echo "build-deb.sh: installing$missing" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >&2; }
fi
[ -f node_modules/.package-lock.json ] || npm ci --no-audit --no-fund

work=$(mktemp -d /tmp/netauditd-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/netauditd
mkdir "$src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp -a --parents -t "$src"
ln -s "$repo/node_modules" "$src/node_modules"

(cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
	tail -40 "$work/build.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed (the log's end is above)" >&2
	exit 1
}
mkdir -p "$out"
rm -f "$out"/netauditd_*
cp "$work"/netauditd_*.deb "$work"/netauditd_*.changes "$work"/netauditd_*.buildinfo "$out/"
cp "$work/build.log" "$out/build.log"
deb=$(ls "$out"/netauditd_*.deb)

# Every tag lintian emits, information included, goes to the report; errors and warnings fail
# the build. Overrides, each with its reason, are in debian/netauditd.lintian-overrides.
status=0
lintian --info --display-info --fail-on error,warning "$out"/netauditd_*.changes >"$out/lintian.txt" 2>&1 || status=$?
cat "$out/lintian.txt" >&2
if [ "$status" != 0 ]; then
	echo "build-deb.sh: lintian found errors or warnings (above)" >&2
	exit 1
fi
echo "$deb"
