#!/bin/sh
# `npm start` and `npm run cli`: run a compiled entry point (dist/...) with plain node, compiling first when dist/ is
# missing or older than the sources, so a fresh clone (`npm ci && npm start`) and an edited checkout both run what
# src/ says. The check is one `find` (milliseconds); the compile (`npm run build`, about 2 s) happens only when a
# source, a tsconfig or package.json changed. Without the compiler (a production install, `npm ci --omit=dev`) dist/
# runs as it is. The last step is `exec`: node replaces this shell, so the signal a process manager sends to npm's
# child (SIGTERM) reaches the server itself.
set -e
root=$(dirname "$0")/..
stamp="$root/dist/.built"
if [ ! -f "$stamp" ] || [ -n "$(find "$root/src" "$root/migrations" "$root/tsconfig.json" "$root/tsconfig.build.json" "$root/package.json" -newer "$stamp" -print 2>/dev/null | head -n 1)" ]; then
  if [ -x "$root/node_modules/.bin/tsc" ]; then
    echo "compiling src/ and migrations/ to dist/ (npm run build)" >&2
    (cd "$root" && npm run -s build)
  elif [ ! -f "$root/$1" ]; then
    echo "$1 is missing and the TypeScript compiler is not installed: run npm ci and npm run build" >&2
    exit 1
  fi
fi
exec node "$@"
