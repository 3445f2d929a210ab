#!/usr/bin/env bash
# scripts/deps.sh NEED...: installs what a make target needs when it is
# missing, so that `make run` and `make test` work on a fresh machine with
# only Go. NEED is one of:
#
#   chromium   Chromium or Chrome on PATH (browser tests, benchmarks)
#   node       Node.js and npm (TypeScript check, the npm package, bundler tests)
#   zip        zip and unzip (the package interop tests)
#   firefox    Firefox ESR (the tests that also run in Firefox)
#   webkit     WebKitGTK's WebDriver and MiniBrowser, with xvfb (the tests
#              that also run in WebKit)
#   seaweedfs  SeaweedFS's weed, whose S3 gateway the sync server's S3 tests
#              run against: built from its Go module into $(go env GOPATH)/bin
#              (a large build: several minutes)
#
# On Debian and Ubuntu it runs apt-get (with sudo when not root); elsewhere
# it prints the command to run and fails. PostgreSQL, for the sync server's
# tests, is installed by server/testdata/with-postgres.sh the same way.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

apt=()   # Debian packages to install
other=() # what to tell the user elsewhere

# The SeaweedFS release the S3 tests are run against. Its go.mod has
# replace directives, which go install refuses: build it inside its own
# module instead, as its main module.
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6
install_weed() {
	local gobin dir t0
	gobin="$(go env GOPATH)/bin"
	t0=$(date +%s)
	echo "deps.sh: building SeaweedFS $SEAWEEDFS_VERSION into $gobin/weed (go build; takes minutes)" >&2
	dir="$(cd / && GOFLAGS=-mod=mod go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[ -n "$dir" ] || { echo "deps.sh: could not download github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" >&2; return 1; }
	mkdir -p "$gobin"
	(cd "$dir" && GOFLAGS= go build -o "$gobin/weed.tmp" ./weed) && mv "$gobin/weed.tmp" "$gobin/weed"
	echo "deps.sh: weed built in $(($(date +%s) - t0)) s" >&2
}
for need in "$@"; do
	case "$need" in
	chromium)
		have chromium || have chromium-browser || have google-chrome || have google-chrome-stable || {
			apt+=(chromium)
			other+=("Chromium or Chrome on PATH (macOS: brew install --cask chromium)")
		}
		;;
	node)
		# Node.js from another source (nodesource, nvm) brings its own npm:
		# ask apt for npm only when node is missing too.
		if ! have node; then
			apt+=(nodejs npm)
			other+=("Node.js 18+ with npm (macOS: brew install node)")
		elif ! have npm; then
			apt+=(npm)
			other+=("npm (it comes with Node.js)")
		fi
		;;
	zip)
		have zip && have unzip || {
			apt+=(zip unzip)
			other+=("zip and unzip (macOS: included)")
		}
		;;
	firefox)
		have firefox-esr || have firefox || {
			apt+=(firefox-esr)
			other+=("Firefox on PATH, for the tests in Firefox")
		}
		;;
	webkit)
		have WebKitWebDriver && have xvfb-run && have xauth || {
			apt+=(webkit2gtk-driver xvfb xauth)
			other+=("WebKitGTK's WebKitWebDriver and xvfb-run, for the tests in WebKit (Linux only)")
		}
		;;
	seaweedfs)
		# Not with apt: the S3 tests are pinned to one release.
		have weed || [ -x "$(go env GOPATH)/bin/weed" ] || install_weed
		;;
	*)
		echo "deps.sh: unknown need $need" >&2
		exit 2
		;;
	esac
done
[ ${#apt[@]} -gt 0 ] || exit 0

if ! have apt-get; then
	echo "This target needs:" >&2
	printf '  %s\n' "${other[@]}" >&2
	exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! have sudo; then
		echo "This target needs Debian packages; as root, run:" >&2
		echo "  apt-get update && apt-get install -y ${apt[*]}" >&2
		exit 1
	fi
	sudo=(sudo)
fi
echo "deps.sh: installing ${apt[*]} (apt-get)" >&2
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt[@]}" >/dev/null
