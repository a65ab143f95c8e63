#!/usr/bin/env bash
# Install the Debian packages a target needs, when they are missing.
# usage: scripts/sysdeps.sh run|test|bench|package
# Does nothing on a machine without apt/dpkg; needs root (or sudo) to install.
set -euo pipefail

qt=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 fonts-dejavu-core
    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libxcb-shape0
    libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0
    libxss1)  # libXss: idle time on X sessions without a D-Bus idle service
desktop=(xvfb xauth dbus dbus-x11 dunst libnotify-bin haskell-status-notifier-item-utils
         haskell-gtk-sni-tray-utils imagemagick libxtst6)  # libXtst: fake input for idle tests
browser=(chromium)
# tests/e2e runs the shipped reverse-proxy configurations with the real proxies;
# tests/core/net/test_proxy.py follows a server through a real forward proxy
proxies=(nginx caddy tinyproxy)
# the tray app's tokens are tested against a real Secret Service (tests/secret_service.py)
secrets=(gnome-keyring)
cluster=(redis-server)  # the Redis engine's tests run a private redis-server
# what README's team-server and scale-out commands use (tests/e2e/test_readme.py runs them)
readme=(openssl curl jq)
# systemd-analyze verifies the team server's unit (tests/packaging)
package=(desktop-file-utils zstd binutils systemd)
# What the bundled Qt plugins link (Wayland, more xcb, GLib, GSSAPI) beyond the qt list;
# the .deb build stops when a linked library does not resolve.
bundled=(libglib2.0-0 libwayland-client0 libwayland-cursor0 libwayland-egl1 libx11-xcb1
         libxcb-glx0 libxcb-sync1 libxcb-xfixes0 libgssapi-krb5-2)

case "${1:-test}" in
  run) want=("${qt[@]}") ;;
  test) want=("${qt[@]}" "${desktop[@]}" "${browser[@]}" "${proxies[@]}" "${cluster[@]}"
              "${secrets[@]}" "${readme[@]}" desktop-file-utils binutils systemd) ;;
  bench) want=("${qt[@]}" "${desktop[@]}" "${cluster[@]}") ;;
  package) want=("${qt[@]}" "${package[@]}" "${bundled[@]}") ;;
  *) echo "usage: $0 run|test|bench|package" >&2; exit 2 ;;
esac

command -v dpkg-query >/dev/null 2>&1 || { echo "sysdeps: not a Debian system, skipping" >&2; exit 0; }
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "sysdeps: missing ${missing[*]}; install them as root" >&2; exit 1; }
  sudo="sudo"
fi
echo "sysdeps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
