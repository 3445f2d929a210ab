//go:build js && wasm

package fsx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// Dir is a directory: a FileSystemDirectoryHandle of the origin private
// file system or of a folder the user picked. A Dir is a handle, not an open
// resource: it needs no closing and stays valid across operations, though
// the directory it names may be removed underneath it (operations then fail
// with an error matching errs.ErrNotFound).
type Dir struct {
	v    js.Value
	name string
}

// StorageRoot returns the root of the origin private file system
// (navigator.storage.getDirectory()). It fails with an error matching
// errs.ErrUnsupported when the browser has no OPFS or refuses it to this
// context (an insecure origin, some private browsing modes).
func StorageRoot(ctx context.Context) (*Dir, error) {
	var storage js.Value
	if err := jsutil.Try(func() { storage = js.Global().Get("navigator").Get("storage") }); err != nil || !storage.Truthy() {
		return nil, fmt.Errorf("fsx: %w", unsupported("navigator.storage"))
	}
	v, err := callAsync(ctx, storage, "getDirectory")
	switch {
	case err == nil:
		return &Dir{v: v, name: ""}, nil
	case errors.Is(err, jsutil.Named("SecurityError")):
		return nil, fmt.Errorf("fsx: origin private file system: %w: %w", errs.ErrUnsupported, err)
	default:
		return nil, fmt.Errorf("fsx: origin private file system: %w", err)
	}
}

// WrapDir returns the Dir of a FileSystemDirectoryHandle, for instance one
// from showDirectoryPicker() or one read back from IndexedDB. It fails with
// an error matching errs.ErrInvalid if v is not a directory handle.
func WrapDir(v js.Value) (*Dir, error) {
	if err := checkHandle(v, "directory"); err != nil {
		return nil, err
	}
	return &Dir{v: v, name: v.Get("name").String()}, nil
}

func checkHandle(v js.Value, kind string) error {
	if v.Type() != js.TypeObject || v.Get("kind").Type() != js.TypeString || v.Get("kind").String() != kind {
		return fmt.Errorf("fsx: not a %s handle: %w", kind, errs.ErrInvalid)
	}
	return nil
}

// JSValue returns the FileSystemDirectoryHandle, to persist it in IndexedDB
// or to hand it to JavaScript.
func (d *Dir) JSValue() js.Value { return d.v }

// Name returns the directory's name; the OPFS root's name is "".
func (d *Dir) Name() string { return d.name }

// Dir returns the subdirectory name, creating it if create is set. It fails
// with an error matching errs.ErrNotFound if it does not exist and
// create is false, and with a TypeMismatchError if name is a file.
func (d *Dir) Dir(ctx context.Context, name string, create bool) (*Dir, error) {
	v, err := callAsync(ctx, d.v, "getDirectoryHandle", name, object("create", create))
	if err != nil {
		return nil, fmt.Errorf("fsx: directory %q: %w", name, err)
	}
	return &Dir{v: v, name: name}, nil
}

// Path returns the directory at the slash-separated path below d, creating
// missing directories if create is set. An empty path is d itself. It
// fails like Dir on the first segment that fails.
func (d *Dir) Path(ctx context.Context, path string, create bool) (*Dir, error) {
	cur := d
	if path == "" {
		return cur, nil
	}
	for seg := range strings.SplitSeq(path, "/") {
		next, err := cur.Dir(ctx, seg, create)
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// File returns the file name in d, creating an empty one if create is set
// and it does not exist. It fails with an error matching
// errs.ErrNotFound if it does not exist and create is false, and with a
// TypeMismatchError if name is a directory.
func (d *Dir) File(ctx context.Context, name string, create bool) (*File, error) {
	v, err := callAsync(ctx, d.v, "getFileHandle", name, object("create", create))
	if err != nil {
		return nil, fmt.Errorf("fsx: file %q: %w", name, err)
	}
	return &File{v: v, name: name}, nil
}

// Remove removes the entry name from d; a directory must be empty unless
// recursive is set. It fails with an error matching errs.ErrNotFound if
// there is no such entry, with an InvalidModificationError for a non-empty
// directory without recursive, and with a NoModificationAllowedError while
// the file is open for writing (a Writable or SyncHandle not yet closed).
func (d *Dir) Remove(ctx context.Context, name string, recursive bool) error {
	if _, err := callAsync(ctx, d.v, "removeEntry", name, object("recursive", recursive)); err != nil {
		return fmt.Errorf("fsx: remove %q: %w", name, err)
	}
	return nil
}

// EntryKind says whether an Entry is a file or a directory.
type EntryKind string

// The kinds of entries, as FileSystemHandle.kind spells them.
const (
	KindFile      EntryKind = "file"
	KindDirectory EntryKind = "directory"
)

// Entry is one entry of a directory listing.
type Entry struct {
	Name string
	Kind EntryKind
	v    js.Value
}

// Dir returns the entry as a Dir; ok is false if it is a file.
func (e Entry) Dir() (d *Dir, ok bool) {
	if e.Kind != KindDirectory {
		return nil, false
	}
	return &Dir{v: e.v, name: e.Name}, true
}

// File returns the entry as a File; ok is false if it is a directory.
func (e Entry) File() (f *File, ok bool) {
	if e.Kind != KindFile {
		return nil, false
	}
	return &File{v: e.v, name: e.Name}, true
}

// Entries lists d, in the browser's order (not sorted). It collects the
// whole listing with one Array.fromAsync where the browser has it, and
// otherwise awaits the async iterator entry by entry. Entries created or
// removed during the listing may or may not appear.
func (d *Dir) Entries(ctx context.Context) ([]Entry, error) {
	it, err := callSync(d.v, "entries")
	if err != nil {
		return nil, fmt.Errorf("fsx: list %q: %w", d.name, err)
	}
	var pairs []js.Value
	if jsArray.Get("fromAsync").Type() == js.TypeFunction {
		arr, err := callAsync(ctx, jsArray, "fromAsync", it)
		if err != nil {
			return nil, fmt.Errorf("fsx: list %q: %w", d.name, err)
		}
		pairs = make([]js.Value, arr.Length())
		for i := range pairs {
			pairs[i] = arr.Index(i)
		}
	} else {
		for {
			r, err := callAsync(ctx, it, "next")
			if err != nil {
				return nil, fmt.Errorf("fsx: list %q: %w", d.name, err)
			}
			if r.Get("done").Truthy() {
				break
			}
			pairs = append(pairs, r.Get("value"))
		}
	}
	entries := make([]Entry, len(pairs))
	for i, p := range pairs {
		h := p.Index(1)
		entries[i] = Entry{Name: p.Index(0).String(), Kind: EntryKind(h.Get("kind").String()), v: h}
	}
	return entries, nil
}

// Permission is the state of the user's permission on a handle.
type Permission string

// The permission states, as the File System Access API spells them.
const (
	PermissionGranted Permission = "granted"
	PermissionDenied  Permission = "denied"
	PermissionPrompt  Permission = "prompt" // the next RequestPermission asks the user
)

// QueryPermission reports the permission the page holds on d, for reading
// and, if write is set, writing. OPFS directories are always granted; a
// folder the user picked in an earlier session is usually "prompt" until
// RequestPermission. It fails with an error matching errs.ErrUnsupported
// in browsers without the method (all but Chromium-based ones).
func (d *Dir) QueryPermission(ctx context.Context, write bool) (Permission, error) {
	return d.permission(ctx, "queryPermission", write)
}

// RequestPermission asks the user for permission on d, as QueryPermission
// describes it, unless it is already granted. The browser asks only during
// a user gesture (a click handler); otherwise the promise rejects with a
// SecurityError and so does this. It fails like QueryPermission when the
// method is missing.
func (d *Dir) RequestPermission(ctx context.Context, write bool) (Permission, error) {
	return d.permission(ctx, "requestPermission", write)
}

func (d *Dir) permission(ctx context.Context, method string, write bool) (Permission, error) {
	mode := "read"
	if write {
		mode = "readwrite"
	}
	v, err := callAsync(ctx, d.v, method, object("mode", mode))
	if err != nil {
		return "", fmt.Errorf("fsx: %s %q: %w", method, d.name, err)
	}
	return Permission(v.String()), nil
}

// IsSameEntry reports whether d and other name the same directory, for
// instance a picked folder and a handle read back from IndexedDB.
func (d *Dir) IsSameEntry(ctx context.Context, other *Dir) (bool, error) {
	v, err := callAsync(ctx, d.v, "isSameEntry", other.v)
	if err != nil {
		return false, fmt.Errorf("fsx: isSameEntry: %w", err)
	}
	return v.Truthy(), nil
}
