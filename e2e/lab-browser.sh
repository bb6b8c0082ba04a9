#!/bin/sh
# Chromium inside one of the NAT lab's network namespaces (e2e/netns.ts). Playwright launches this as
# the browser "executable" and talks to Chromium over inherited pipes (fds 3 and 4), which cross the
# namespace boundary untouched; `exec` keeps the pid Playwright knows. Only duet-lab-* namespaces.
set -eu
netns="${DUET_LAB_NETNS:?DUET_LAB_NETNS must name the namespace to run Chromium in}"
case "$netns" in
  duet-lab-*) ;;
  *)
    echo "lab-browser.sh: '$netns' is not a duet-lab-* namespace" >&2
    exit 2
    ;;
esac
exec ip netns exec "$netns" "${DUET_LAB_CHROMIUM:-/usr/bin/chromium}" "$@"
