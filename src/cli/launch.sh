#!/bin/sh
':' /*
# The `ocipeek` executable (package.json "bin"; scripts/bundle.mjs copies it to
# dist/bin/ocipeek, and to dist/bin/container-image-proxy, the second bin). It starts node
# on the launcher beside it (ocipeek.js, src/cli/launch.ts) with NODE_EXTRA_CA_CERTS moved
# aside. Run under the name container-image-proxy (its own file, or a link named so), it
# is `ocipeek proxy`, the command that speaks that program's protocol.
#
# Why: Node parses the NODE_EXTRA_CA_CERTS file, and its own bundled roots with it, while
# it starts, before any script runs. Shells that point it at the whole system bundle
# (~220 KB, a common way to make Node trust a company CA) add 35 ms of CPU and more of
# wall time to every run, which is most of the start-up of a short command such as
# `ocipeek digest` (bench/ANALYSIS.md). ocipeek adds those CAs itself, once, when it first
# opens a TLS connection (src/transport/tls.ts), so a plain-HTTP registry never pays, and
# puts the variable back for the processes it starts (launch.ts).
#
# Why sh: only a process that runs before node can keep node from reading the variable.
# /bin/sh is on every POSIX system (Linux with any libc, macOS, the BSDs); no
# `env -S` (busybox lacks it). npm links this file as the bin; the loop below finds the
# real folder behind those symlinks with plain `readlink` (macOS has no `readlink -f`
# before 12.3). The file is also valid JavaScript (the sh part sits in this comment), so
# where something runs a bin with node itself (Yarn 2+, `node dist/bin/ocipeek`) it
# simply loads the launcher, without the deferral. On Windows npm's shim would call
# /bin/sh: run `node <package>/dist/bin/ocipeek.js` there.
# This comment and the code below must never contain a star followed by a slash.
self=$0
while [ -L "$self" ]; do
  link=$(readlink "$self") || break
  case $link in
    /*) self=$link ;;
    *) case $self in *[/]*) self=${self%/*}/$link ;; *) self=$link ;; esac ;;
  esac
done
case $self in *[/]*) here=${self%/*} ;; *) here=. ;; esac
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  OCIPEEK_DEFERRED_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS
  export OCIPEEK_DEFERRED_EXTRA_CA_CERTS
  unset NODE_EXTRA_CA_CERTS
fi
# glibc gives threads that allocate their own malloc arenas (up to 8 per core), whose free
# memory stays in the process. Two serve ocipeek's few threads (libuv's pool, unpack's
# writer): unpack of the app image peaked ~7 MB lower at the same CPU, a pull unchanged
# (bench/ANALYSIS.md). glibc reads the variable only at start, so it is set here; a value
# the user set is kept, other C libraries ignore it, and launch.ts takes it out again for
# the processes ocipeek starts.
if [ -z "${MALLOC_ARENA_MAX:-}" ]; then
  MALLOC_ARENA_MAX=2
  OCIPEEK_SET_MALLOC_ARENA_MAX=1
  export MALLOC_ARENA_MAX OCIPEEK_SET_MALLOC_ARENA_MAX
fi
# unpack allocates and frees many short-lived buffers (gzip pieces, writer batches); glibc
# raises its mmap threshold after the first large one is freed, later ones come from the
# heap, and the heap keeps what they leave. Fixed thresholds (buffers up to 1 MiB from the
# heap, free top memory above 256 KiB given back) lowered the app image's peak: with 64
# KiB pieces, 6 alternating pairs, median 116 -> 107 MB, highest 118 -> 113 MB, same time
# (bench/ANALYSIS.md, ninth session). Only when an argument is `unpack` (a crude test:
# another command that gets one only has its malloc tuned), and only when the user set
# neither; fixing them turns glibc's adjustment off. launch.ts takes them out again.
for arg; do
  if [ "$arg" = unpack ] && [ -z "${MALLOC_MMAP_THRESHOLD_:-}${MALLOC_TRIM_THRESHOLD_:-}" ]; then
    MALLOC_MMAP_THRESHOLD_=1048576
    MALLOC_TRIM_THRESHOLD_=262144
    OCIPEEK_SET_MALLOC_THRESHOLDS=1
    export MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_ OCIPEEK_SET_MALLOC_THRESHOLDS
    break
  fi
done
case ${0##*[/]}:${self##*[/]} in
  container-image-proxy:* | *:container-image-proxy) set -- proxy "$@" ;;
esac
exec node "$here/ocipeek.js" "$@"
*/
require('./ocipeek.js');
