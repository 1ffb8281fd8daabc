#!/bin/sh
# The HTML tests open pages in headless Chromium and never skip: make sure Debian's chromium is here.
set -e
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || {
        apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
    command -v chromium >/dev/null 2>&1 && exit 0
fi
echo "ensure-chromium: chromium is missing; install it with: sudo apt-get install -y chromium" >&2
exit 1
