#!/usr/bin/env bash
# The tests need Debian's Chromium and Firefox ESR (never a downloaded browser build), coturn,
# nftables + iproute2 for the NAT lab (network namespaces), and redis-server + haproxy for the
# scale-out tests (several Duet processes sharing a Redis, behind a reverse proxy), ffmpeg, whose
# ffprobe checks the call recordings the browser makes, and xvfb, a display for the one headed
# Chromium that puts a call's tab in the background (headless tabs never leave the foreground).
# Installs them when missing and we are root; otherwise names the one command that does.
set -euo pipefail

PACKAGES=(chromium firefox-esr coturn nftables iproute2 redis-server haproxy ffmpeg xvfb)
BINARIES=(/usr/bin/chromium /usr/bin/firefox-esr /usr/bin/turnserver /usr/sbin/nft /usr/sbin/ip /usr/bin/redis-server /usr/sbin/haproxy /usr/bin/ffprobe /usr/bin/Xvfb)

missing=()
for i in "${!BINARIES[@]}"; do
  [ -x "${BINARIES[$i]}" ] || missing+=("${PACKAGES[$i]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

command="apt-get update && apt-get install -y ${missing[*]}"
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need Debian packages that are missing: ${missing[*]}." >&2
  echo "Install them with (as root):  $command" >&2
  exit 1
fi
echo "Installing missing Debian packages for the tests: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
