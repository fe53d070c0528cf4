#!/bin/sh
# npm start: try netauditd on this machine without touching the system: everything lives in
# ./state (profiles, audit trail, run dir, and a private system-like D-Bus bus).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
state=$root/state

PATH=$PATH:/usr/sbin:/sbin
if ! command -v dbus-daemon >/dev/null 2>&1; then
	if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
		echo "start.sh: dbus-daemon is missing (install the dbus-daemon package as root)" >&2
		exit 1
	fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dbus-daemon
fi

# npm ci records what it installed in node_modules/.package-lock.json.
if [ ! -f node_modules/.package-lock.json ] ||
	[ -n "$(find package-lock.json -newer node_modules/.package-lock.json)" ]; then
	npm ci
fi
npm run build

# The bus runs as messagebus and non-root clients connect: the dirs must be 0755.
for d in "$state" "$state/profiles" "$state/audit" "$state/run" "$state/bus" "$state/bus/system.d"; do
	mkdir -p "$d"
	chmod 755 "$d"
done

config=$state/netauditd.conf
if [ ! -e "$config" ]; then
	cat >"$config" <<CONF
# netauditd configuration for trying it out (npm start); see data/netauditd.conf.
[main]
auth=root-only
profiles-dir=$state/profiles
run-dir=$state/run
state-dir=$state/var
# DNS mode file links this path, not /etc/resolv.conf, to run-dir/resolv.conf.
resolv-conf=$state/resolv.conf

[logging]
level=INFO
audit=yes

[audit]
backends=libaudit,journal,log,file
dir=$state/audit
CONF
fi
# A config written before DNS was applied would have the daemon link this machine's
# /etc/resolv.conf: it gets a path inside ./state unless it names one itself.
if ! grep -q '^resolv-conf=' "$config"; then
	printf '\n# Added by start.sh: DNS mode file links this path, not /etc/resolv.conf.\n[main]\nresolv-conf=%s\n' "$state/resolv.conf" >>"$config"
fi

socket=$state/bus/system_bus_socket
address=unix:path=$socket
pidfile=$state/bus/bus.pid

# The bus drops to messagebus only when started as root; a non-root user may own the name
# on this private bus (the system policy gives it to root alone).
if [ "$(id -u)" = 0 ]; then
	user_line='<user>messagebus</user>'
	rm -f "$state/bus/system.d/local-user.conf"
else
	user_line=
	cat >"$state/bus/system.d/local-user.conf" <<POLICY
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="$(id -un)">
    <allow own="org.netaudit1"/>
    <allow send_destination="org.netaudit1"/>
  </policy>
</busconfig>
POLICY
fi
install -m 644 data/org.netaudit1.conf "$state/bus/system.d/org.netaudit1.conf"
cat >"$state/bus/bus.conf" <<BUSCONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  $user_line
  <listen>unix:path=$socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
  <includedir>$state/bus/system.d</includedir>
</busconfig>
BUSCONF

bus_pid=
if [ -S "$socket" ] && [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
	echo "start.sh: using the bus already running (pid $(cat "$pidfile"))" >&2
else
	rm -f "$socket" "$pidfile"
	dbus-daemon --config-file="$state/bus/bus.conf" --fork --nosyslog --print-pid=3 3>"$pidfile"
	bus_pid=$(cat "$pidfile")
fi

stop_bus() {
	if [ -n "$bus_pid" ]; then
		kill "$bus_pid" 2>/dev/null || true
		rm -f "$pidfile"
		bus_pid=
	fi
}
trap stop_bus EXIT

busctl="busctl --address=$address"
cat >&2 <<HELP

netauditd is starting on a private bus. From another terminal:
  $busctl tree org.netaudit1
  $busctl call org.netaudit1 /org/netaudit1/Settings org.netaudit1.Settings \\
      AddConnection 'a{sa{sv}}' 2 connection 3 id s lan0 type s ethernet interface-name s eth0 \\
      ipv4 1 method s disabled
  tail -f $state/audit/audit-*.jsonl
  journalctl NETAUDIT_OP=connection-add -o verbose      (when journald runs)
  ausearch -m USYS_CONFIG -ts recent -i                 (when auditd runs)
  node dist/cli/main.js audit verify --dir $state/audit
Stop it with Ctrl-C (SIGINT) or SIGTERM; SIGHUP reloads $config.

HELP

# Node runs as a child, not exec'ed, so that the bus is stopped when it exits; signals
# meant for the daemon are passed on.
# NETAUDITD_NETNS=NAME runs the daemon in that network namespace (made with `ip netns add NAME`),
# so that it manages that namespace's links instead of this machine's; `ip netns exec` execs.
if [ -n "${NETAUDITD_NETNS:-}" ]; then
	ip netns exec "$NETAUDITD_NETNS" node dist/main.js --config "$config" --bus-address "$address" &
else
	node dist/main.js --config "$config" --bus-address "$address" &
fi
child=$!
interrupted=0
trap 'interrupted=1; kill -TERM "$child" 2>/dev/null || true' INT TERM
trap 'interrupted=1; kill -HUP "$child" 2>/dev/null || true' HUP

# A trapped signal ends `wait` early (status > 128): wait again for the real exit status.
status=
while [ -z "$status" ]; do
	interrupted=0
	if wait "$child"; then rc=0; else rc=$?; fi
	if [ "$interrupted" = 0 ] || [ "$rc" -le 128 ]; then
		status=$rc
	fi
done
exit "$status"
