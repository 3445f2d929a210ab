// Command atelier-sync is the sync server of atelier: the syncproto routes
// over an embedded SQLite database (or PostgreSQL) and a directory of
// blobs.
//
// # Basics
//
//	atelier-sync -data ./sync-data -tokens tokens.json
//	atelier-sync -data ./sync-data -token dev-token=dev     # development
//	atelier-sync -postgres postgres://user@db/atelier -data ./blobs -tokens tokens.json
//	atelier-sync -data ./sync-data -dump dev                # what workspace dev holds, as JSON
//
// The tokens file is a JSON object of bearer token to workspace; a key may
// be "sha256:" and the hex SHA-256 of the token instead of the token. The
// data directory holds sync.db (unless -postgres is given), blobs/, and
// secret, the key that signs blob URLs, created on first start. The
// server stops gracefully on SIGINT or SIGTERM.
//
// # Caveats
//
// The server speaks plain HTTP; put it behind a TLS-terminating proxy in
// production and set -base-url to its public address, so that signed
// URLs point there.
package main
