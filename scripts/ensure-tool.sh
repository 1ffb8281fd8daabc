#!/bin/sh
# Usage: ensure-tool.sh COMMAND [PACKAGE]. Tests that need a real tool (headless Chromium for the HTML
# pages, tmux for `init` in a terminal) never skip: install Debian's package when the command is missing.
set -e
tool="$1"
package="${2:-$1}"
if command -v "$tool" >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >/dev/null || {
        apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >/dev/null; }
    command -v "$tool" >/dev/null 2>&1 && exit 0
fi
echo "ensure-tool: $tool is missing; install it with: sudo apt-get install -y $package" >&2
exit 1
