#!/bin/sh
# Builds the images infra/compose/multi-host.yml runs, from Debian packages and the npm registry only,
# for a Docker host that cannot pull from an image registry (e.g. the project's test machine):
#   kumo-local/debian:bookworm   Debian bookworm minbase (debootstrap from the host's Debian mirror default)
#   kumo-local/node:20           that + this host's Node.js (20 or later: node and npm) + a `node` user (uid 1000)
#   kumo-local/redis:7           that + Debian's redis-server (7.0) and redis-check-aof; redis-sentinel is redis-server
#   kumo-local/prometheus:2      that + Debian's prometheus (2.42), started as the official image starts it
#   kumo:latest                  infra/compose/Dockerfile      FROM kumo-local/node:20
#   kumo-edge:latest             infra/compose/Dockerfile.kamailio FROM kumo-local/debian:bookworm
# Real deployments build the Dockerfiles from their default bases instead (node:20-bookworm-slim,
# debian:bookworm-slim) and use the official redis:7 image.
# Needs root, debootstrap and a Docker daemon (DOCKER_HOST as usual). Builds run on the host network
# (apt-get and npm ci inside the builds reach the registries the host reaches). Images that exist
# are kept; KUMO_LOCAL_IMAGES_REBUILD=1 rebuilds kumo:latest and kumo-edge:latest.
# Usage: sh infra/compose/local-images.sh   (from anywhere)
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kumo-images.XXXXXX")
trap 'rm -rf "$work"' EXIT
have() { docker image inspect "$1" >/dev/null 2>&1; }
say() { echo "local-images: $*" >&2; }

docker info >/dev/null 2>&1 || { say "no Docker daemon reachable (DOCKER_HOST=${DOCKER_HOST:-unset})"; exit 2; }

if ! have kumo-local/debian:bookworm; then
  command -v debootstrap >/dev/null || { say "debootstrap is missing (apt-get install debootstrap)"; exit 2; }
  say "debootstrap bookworm (minbase) ..."
  debootstrap --variant=minbase bookworm "$work/rootfs" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
  # Daemons installed in image builds must not try to start.
  printf '#!/bin/sh\nexit 101\n' >"$work/rootfs/usr/sbin/policy-rc.d" && chmod 755 "$work/rootfs/usr/sbin/policy-rc.d"
  tar -C "$work/rootfs" -c . | docker import - kumo-local/debian:bookworm >/dev/null
  rm -rf "$work/rootfs"
fi

if ! have kumo-local/node:20; then
  node=$(readlink -f "$(command -v node)")
  major=$("$node" -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || { say "this host's node is $("$node" -v): Node.js 20 or later is needed"; exit 2; }
  mkdir -p "$work/node"
  # This host's Node.js: its binary and the npm beside it (as installed now, whatever package brought them).
  prefix=$(dirname "$(dirname "$node")")
  tar -C / -cf "$work/node/node.tar" "${prefix#/}/bin/node" "${prefix#/}/lib/node_modules/npm"
  # The CAs this host's Node.js trusts beyond its own (NODE_EXTRA_CA_CERTS, e.g. behind a TLS-inspecting
  # proxy), so that npm ci inside the Kumo build reaches the registry as it does here.
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then cp "$NODE_EXTRA_CA_CERTS" "$work/node/extra-ca.pem"; else : >"$work/node/extra-ca.pem"; fi
  cat >"$work/node/Dockerfile" <<'EOF'
FROM kumo-local/debian:bookworm
ADD node.tar /
COPY extra-ca.pem /usr/local/share/kumo-extra-ca.pem
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/kumo-extra-ca.pem
ARG PREFIX
RUN ln -sf "$PREFIX/lib/node_modules/npm/bin/npm-cli.js" /usr/local/bin/npm && ln -sf "$PREFIX/lib/node_modules/npm/bin/npx-cli.js" /usr/local/bin/npx && ln -sf "$PREFIX/bin/node" /usr/local/bin/node 2>/dev/null; \
    groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node && node -v && npm -v
EOF
  docker build -q --network host --build-arg PREFIX="$prefix" -t kumo-local/node:20 "$work/node" >/dev/null
fi

if ! have kumo-local/redis:7; then
  mkdir -p "$work/redis"
  cat >"$work/redis/Dockerfile" <<'EOF'
FROM kumo-local/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends redis-server redis-tools && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/redis-server /usr/local/bin/redis-sentinel && mkdir -p /data
WORKDIR /data
EOF
  docker build -q --network host -t kumo-local/redis:7 "$work/redis" >/dev/null
fi

if ! have kumo-local/prometheus:2; then
  mkdir -p "$work/prometheus"
  cat >"$work/prometheus/Dockerfile" <<'EOF'
FROM kumo-local/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends prometheus && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus && chown nobody /prometheus
USER nobody
WORKDIR /prometheus
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
EOF
  docker build -q --network host -t kumo-local/prometheus:2 "$work/prometheus" >/dev/null
fi

if [ "${KUMO_LOCAL_IMAGES_REBUILD:-}" = 1 ] || ! have kumo:latest; then
  say "building kumo:latest (npm ci + tsc inside) ..."
  docker build -q --network host --build-arg NODE_IMAGE=kumo-local/node:20 -t kumo:latest -f "$repo/infra/compose/Dockerfile" "$repo" >/dev/null
fi
if [ "${KUMO_LOCAL_IMAGES_REBUILD:-}" = 1 ] || ! have kumo-edge:latest; then
  say "building kumo-edge:latest ..."
  docker build -q --network host --build-arg DEBIAN_IMAGE=kumo-local/debian:bookworm -t kumo-edge:latest -f "$repo/infra/compose/Dockerfile.kamailio" "$repo/infra/compose" >/dev/null
fi
say "images ready: kumo:latest kumo-edge:latest kumo-local/redis:7 kumo-local/prometheus:2"
