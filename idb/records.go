//go:build js && wasm

package idb

import "github.com/atelierstore/atelier/internal/idbx"

// rec is a record about to be written: its plain properties and where its
// body sits in a buffer shared by a batch.
type rec = idbx.RevPut
