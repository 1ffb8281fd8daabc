#!/bin/sh
# The HTML tests open pages in headless Chromium, and the console's browser tests drive it with
# Selenium through Debian's chromium-driver (matched to Debian's Chromium). They never skip.
set -e
sh "$(dirname "$0")/ensure-tool.sh" chromium chromium
exec sh "$(dirname "$0")/ensure-tool.sh" chromedriver chromium-driver
