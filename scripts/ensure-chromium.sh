#!/bin/sh
# The HTML tests open pages in headless Chromium and never skip (see ensure-tool.sh).
exec sh "$(dirname "$0")/ensure-tool.sh" chromium chromium
