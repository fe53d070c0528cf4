#!/bin/sh
# npm test: installs what the integration tests need, builds, runs vitest.
# Meant for a Debian machine where it runs as root; arguments go to vitest.
set -eu
cd "$(dirname "$0")/.."

# Debian packages the tests use, each checked by a command it provides or,
# for a library, by dpkg's status.
PATH=$PATH:/usr/sbin:/sbin
missing=
need_cmd() { # need_cmd PACKAGE COMMAND
	command -v "$2" >/dev/null 2>&1 || missing="$missing $1"
}
need_pkg() { # need_pkg PACKAGE
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q ' installed$' ||
		missing="$missing $1"
}
need_cmd dbus-daemon dbus-daemon
need_cmd dbus-bin dbus-send
need_pkg python3-dbus
need_cmd iproute2 ip
need_cmd util-linux setpriv
need_cmd systemd busctl
# auditd: the libaudit backend's records are read back from it. vitest's globalSetup
# (test/setup/system-services.ts) starts journald and auditd when they are not running.
need_cmd auditd auditd
# man (man-db, with groff-base): the man pages are rendered and checked against the code.
need_cmd man-db man
need_cmd groff-base groff
# polkitd: auth=polkit is tested against the real polkitd (test/integration/polkit.test.ts).
need_pkg polkitd
need_cmd faketime faketime
# python3-pyroute2: a long-lived netlink client of another project, whose changes are attributed
# to its process (test/integration/external-changes.test.ts).
need_pkg python3-pyroute2
# dnsmasq: the DHCP client takes leases from it (test/integration/dhcp4-client.test.ts).
need_cmd dnsmasq-base dnsmasq
# The Debian package is built (npm run deb) and checked with lintian, then installed with apt in a
# booted Debian container with a real systemd (test/integration/systemd-package.test.ts).
need_cmd dpkg-dev dpkg-buildpackage
need_cmd debhelper dh
need_cmd lintian lintian
need_cmd fakeroot fakeroot
need_cmd debootstrap debootstrap
need_cmd systemd-container systemd-nspawn
if [ -n "$missing" ]; then
	if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
		echo "test.sh: missing packages:$missing (install them as root with apt-get)" >&2
		exit 1
	fi
	echo "test.sh: installing$missing" >&2
	apt-get update
	# shellcheck disable=SC2086 # one word per package
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi

# Optional: NetworkManager's own keyfile parser (nmcli --offline) checks the profiles we
# write. Without it that test is reported as skipped.
if ! command -v nmcli >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	echo "test.sh: installing network-manager (optional)" >&2
	{ [ -n "$missing" ] || apt-get update; } &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends network-manager ||
		echo "test.sh: network-manager could not be installed; its compatibility test will be skipped" >&2
fi

# The non-root caller of the authorization tests.
if ! id nauser >/dev/null 2>&1; then
	if [ "$(id -u)" != 0 ]; then
		echo "test.sh: user nauser is missing (useradd -M -s /usr/sbin/nologin -U nauser)" >&2
		exit 1
	fi
	useradd -M -s /usr/sbin/nologin -U nauser
fi

# npm ci records what it installed in node_modules/.package-lock.json.
if [ ! -f node_modules/.package-lock.json ] ||
	[ -n "$(find package-lock.json -newer node_modules/.package-lock.json)" ]; then
	npm ci
fi

npm run build
exec npx --no-install vitest run "$@"
