#!/usr/bin/env bash
# Installs what Kumo needs on a fresh Debian machine: Debian packages (when root) and npm packages.
# Usage: ensure-deps.sh [--with-sipp]
set -euo pipefail
cd "$(dirname "$0")/../../.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# jemalloc for the engine process (packages/engine/src/launch.ts, docs/engine.md "Memory after a burst"); optional:
# without it the engine runs on glibc malloc, so it is only installed where apt-get can be run
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1 && ! compgen -G '/usr/lib/*/libjemalloc.so.2' >/dev/null; then
  need_apt+=(libjemalloc2)
fi
if [[ "${1:-}" == "--with-sipp" ]]; then
  command -v sipp >/dev/null 2>&1 || need_apt+=(sip-tester)
  # the engine's TLS test makes a throw-away self-signed certificate
  command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
  # operation report test (PDF printed by Chromium, its text read back with pdftotext) and the console's browser
  # tests (playwright-core drives Debian's Chromium; no browser download)
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  command -v pdftotext >/dev/null 2>&1 || need_apt+=(poppler-utils)
  # A Japanese font, so the console's screenshots show text rather than empty boxes.
  fc-list 2>/dev/null | grep -qi 'ipagothic\|noto sans cjk' || need_apt+=(fonts-ipafont-gothic)
  # Real softphones for the interop suite (packages/sip/test/integration/softphones.test.ts), and sox for its tones.
  command -v baresip >/dev/null 2>&1 || need_apt+=(baresip-core)
  command -v linphonec >/dev/null 2>&1 || need_apt+=(linphone-cli)
  command -v sox >/dev/null 2>&1 || need_apt+=(sox)
  # The SIP edge in front of several engines (infra/kamailio, packages/cli/test/integration/kamailio-edge.test.ts).
  command -v kamailio >/dev/null 2>&1 || [[ -x /usr/sbin/kamailio ]] || need_apt+=(kamailio)
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
