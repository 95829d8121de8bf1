#!/usr/bin/env bash
# Run tshark as an unprivileged user with a throw-away HOME holding the
# freshly built plugin in the personal plugin folder. As root, tshark would
# ignore that folder (and WIRESHARK_*_DIR), so tests never run it as root.
#
# Usage: tests/lib/tshark-user.sh PLUGIN_SO|- [tshark args...]   (- : no plugin)
#   env TSHARK_USER_UID (default 65534), TSHARK_KEEP_HOME=1 to keep HOME.
#   An existing HOME can be reused with TSHARK_HOME=DIR (set up by a prior call).
set -euo pipefail

plugin_so=${1:?usage: tshark-user.sh PLUGIN_SO [tshark args...]}
shift
uid=${TSHARK_USER_UID:-65534}

ws_minor=$(tshark --version 2>/dev/null | sed -n 's/^TShark (Wireshark) \([0-9]*\.[0-9]*\).*/\1/p')
[ -n "$ws_minor" ] || { echo "tshark-user: cannot read tshark's version" >&2; exit 2; }

home=${TSHARK_HOME:-}
if [ -z "$home" ]; then
	home=$(mktemp -d /tmp/vsockmon-home.XXXXXX)
	[ "${TSHARK_KEEP_HOME:-0}" = 1 ] || trap 'rm -rf "$home"' EXIT
fi
plugdir="$home/.local/lib/wireshark/plugins/$ws_minor/epan"
mkdir -p "$plugdir"
[ "$plugin_so" = - ] || cp "$plugin_so" "$plugdir/"
chown -R "$uid:$uid" "$home"
chmod -R a+rX "$home"

if [ "$(id -u)" -eq 0 ]; then
	setpriv --reuid="$uid" --regid="$uid" --clear-groups \
		env -i PATH="$PATH" HOME="$home" LANG=C.UTF-8 TZ=UTC tshark "$@"
else
	env -i PATH="$PATH" HOME="$home" LANG=C.UTF-8 TZ=UTC tshark "$@"
fi
