#!/bin/sh
# Cuts a write that a crash tore off the AOF tail, before redis-server loads the AOF.
# Run it before every start of a Redis that keeps Kumo's data (systemd ExecStartPre, a container's
# command); `kumo up` does the same by itself. Why: see "Torn writes" in infra/redis/README.md.
# Usage: repair-aof-tail.sh <data dir> [appenddirname] [appendfilename]
set -eu
dir=${1:?usage: repair-aof-tail.sh <data dir> [appenddirname] [appendfilename]}
manifest="$dir/${2:-appendonlydir}/${3:-appendonly.aof}.manifest"
[ -e "$manifest" ] || exit 0
# redis-check-aof asks before it truncates; it exits non-zero when the damage is not a torn tail.
echo y | redis-check-aof --fix "$manifest"
