#!/usr/bin/env bash
# Installs what Kumo needs on a fresh Debian machine: Debian packages (when root) and npm packages.
# Usage: ensure-deps.sh [--with-sipp]
set -euo pipefail
cd "$(dirname "$0")/../../.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
if [[ "${1:-}" == "--with-sipp" ]]; then
  command -v sipp >/dev/null 2>&1 || need_apt+=(sip-tester)
  # The console's browser tests drive Debian's Chromium through playwright-core (no browser download).
  [[ -x /usr/bin/chromium ]] || need_apt+=(chromium)
  # A Japanese font, so the console's screenshots show text rather than empty boxes.
  fc-list 2>/dev/null | grep -qi 'ipagothic\|noto sans cjk' || need_apt+=(fonts-ipafont-gothic)
fi
if ((${#need_apt[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "kumo: installing ${need_apt[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "kumo: missing ${need_apt[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${need_apt[*]}) and try again." >&2
    exit 1
  fi
fi
# redis-server is installed as a system service on Debian; Kumo runs its own, so the system one may stay stopped.

node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  echo "kumo: Node.js 20 or newer is required (found $(node --version))." >&2
  exit 1
fi

stamp=node_modules/.kumo-install-stamp
if [[ ! -f $stamp || package-lock.json -nt $stamp || package.json -nt $stamp ]]; then
  echo "kumo: installing npm packages" >&2
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
  touch "$stamp"
fi
