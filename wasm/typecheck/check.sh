#!/usr/bin/env bash
# Type-checks wasm/atelier.d.ts against usage.ts with the pinned TypeScript,
# for a bundler app and for Node's ESM rules. Installs TypeScript into
# node_modules/ from package-lock.json first when it is missing or stale.
# Needs Node.js 18+ and npm; TypeScript itself comes from the npm registry.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "wasm/typecheck needs Node.js 18+ and npm (Debian/Ubuntu: sudo apt-get install nodejs npm)" >&2
	exit 1
fi

want="$(node -p 'require("./package-lock.json").packages["node_modules/typescript"].version')"
have="$(node -p 'try { require("./node_modules/typescript/package.json").version } catch { "" }')"
if [ "$have" != "$want" ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi

tsc=node_modules/typescript/bin/tsc
echo "typescript $("$tsc" --version | cut -d' ' -f2)"
"$tsc" -p tsconfig.json
echo "ok  	atelier.d.ts: usage.ts type-checks (bundler resolution)"
"$tsc" -p tsconfig.nodenext.json
echo "ok  	atelier.d.ts: usage.ts type-checks (NodeNext resolution)"
