package assets

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/atelierstore/atelier/opfs"
)

// WorkspaceRoot is the OPFS directory that holds the assets of the
// database called name when Options.OPFS sets no Root:
// "atelier/workspaces/<16 hex digits of the name's SHA-256>". Databases
// of one origin share OPFS, and a store deletes what its own registry does
// not know, so each database keeps its files apart. The name is hashed
// because a database name may be any string, and a path segment may not.
func WorkspaceRoot(name string) string {
	sum := sha256.Sum256([]byte(name))
	return opfs.DefaultRoot + "/workspaces/" + hex.EncodeToString(sum[:8])
}
