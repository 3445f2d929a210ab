//go:build js && wasm

package idbx

import (
	"syscall/js"

	"github.com/atelierstore/atelier/internal/jsutil"
)

// Upgrade gives structural access to a database during its versionchange
// transaction.
type Upgrade struct {
	db, tx     js.Value
	OldVersion int // 0 when the database is being created
	NewVersion int
}

// StoreNames returns the object stores as they are at this point of the
// upgrade.
func (u *Upgrade) StoreNames() []string { return stringList(u.db.Get("objectStoreNames")) }

// CreateStore creates an object store. An empty keyPath means out-of-line
// keys.
func (u *Upgrade) CreateStore(name, keyPath string, autoIncrement bool) error {
	opts := map[string]any{"autoIncrement": autoIncrement}
	if keyPath != "" {
		opts["keyPath"] = keyPath
	}
	return jsutil.Try(func() { u.db.Call("createObjectStore", name, opts) })
}

// DeleteStore deletes an object store and its data.
func (u *Upgrade) DeleteStore(name string) error {
	return jsutil.Try(func() { u.db.Call("deleteObjectStore", name) })
}

// CreateIndex creates an index on an existing store.
func (u *Upgrade) CreateIndex(store, name, keyPath string, unique, multiEntry bool) error {
	return jsutil.Try(func() {
		u.tx.Call("objectStore", store).Call("createIndex", name, keyPath,
			map[string]any{"unique": unique, "multiEntry": multiEntry})
	})
}

// DeleteIndex deletes an index.
func (u *Upgrade) DeleteIndex(store, name string) error {
	return jsutil.Try(func() { u.tx.Call("objectStore", store).Call("deleteIndex", name) })
}

// IndexNames returns the indexes of a store.
func (u *Upgrade) IndexNames(store string) (names []string, err error) {
	err = jsutil.Try(func() { names = stringList(u.tx.Call("objectStore", store).Get("indexNames")) })
	return names, err
}
