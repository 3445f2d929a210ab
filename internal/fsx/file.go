//go:build js && wasm

package fsx

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// File is a file: a FileSystemFileHandle. Like Dir it is a handle and needs
// no closing; Writable and SyncHandle are the open resources.
type File struct {
	v    js.Value
	name string
}

// WrapFile returns the File of a FileSystemFileHandle. It fails with an
// error matching errs.ErrInvalid if v is not a file handle.
func WrapFile(v js.Value) (*File, error) {
	if err := checkHandle(v, "file"); err != nil {
		return nil, err
	}
	return &File{v: v, name: v.Get("name").String()}, nil
}

// JSValue returns the FileSystemFileHandle, for instance to post it to a
// worker.
func (f *File) JSValue() js.Value { return f.v }

// Name returns the file's name.
func (f *File) Name() string { return f.name }

// Blob returns a snapshot of the file's content (getFile()). Reading it
// fails once the file is removed or written again. It fails with an error
// matching errs.ErrNotFound if the file was removed.
func (f *File) Blob(ctx context.Context) (*Blob, error) {
	v, err := callAsync(ctx, f.v, "getFile")
	if err != nil {
		return nil, fmt.Errorf("fsx: read %q: %w", f.name, err)
	}
	return &Blob{v: v, size: int64(v.Get("size").Float())}, nil
}

// Move renames f to name in dir, atomically: readers see the old name or
// the new one, never a partial file. An existing file named name in dir is
// replaced. Afterwards f names the moved file. It fails with an error
// matching errs.ErrUnsupported where FileSystemFileHandle.move is
// missing (older browsers, and some that have it for OPFS but not for
// picked folders), and with errs.ErrNotFound if f was removed.
func (f *File) Move(ctx context.Context, dir *Dir, name string) error {
	if _, err := callAsync(ctx, f.v, "move", dir.v, name); err != nil {
		return fmt.Errorf("fsx: move %q to %q: %w", f.name, name, err)
	}
	f.name = name
	return nil
}

// IsSameEntry reports whether f and other name the same file.
func (f *File) IsSameEntry(ctx context.Context, other *File) (bool, error) {
	v, err := callAsync(ctx, f.v, "isSameEntry", other.v)
	if err != nil {
		return false, fmt.Errorf("fsx: isSameEntry: %w", err)
	}
	return v.Truthy(), nil
}

// CreateWritable opens f for writing new content from its start, as
// createWritable({keepExistingData: false}) does: the browser writes to a
// swap file and replaces f with it on Close, so f keeps its old content
// until then and an aborted Writable leaves it unchanged. (Appending with
// keepExistingData copies the whole file first; this package never does
// it.) It fails with a NoModificationAllowedError while a SyncHandle holds
// f, and with an error matching errs.ErrUnsupported where the method is
// missing (older Safari).
func (f *File) CreateWritable(ctx context.Context) (*Writable, error) {
	v, err := callAsync(ctx, f.v, "createWritable", object("keepExistingData", false))
	if err != nil {
		return nil, fmt.Errorf("fsx: open %q for writing: %w", f.name, err)
	}
	return &Writable{v: v, name: f.name}, nil
}

// CreateSyncAccessHandle opens f for synchronous reads and writes, which
// browsers allow only in dedicated workers; the handle holds an exclusive
// lock on f until Close. It fails with an error matching
// errs.ErrUnsupported elsewhere (on the page's main thread the method
// does not exist), and with a NoModificationAllowedError while another
// handle or a Writable holds f.
func (f *File) CreateSyncAccessHandle(ctx context.Context) (*SyncHandle, error) {
	v, err := callAsync(ctx, f.v, "createSyncAccessHandle")
	if err != nil {
		return nil, fmt.Errorf("fsx: open %q for sync access: %w", f.name, err)
	}
	return &SyncHandle{v: v, name: f.name}, nil
}

// OpenReadOnly opens a read-only sync access handle on f (mode
// "read-only"): several may be open at once, in any worker of the origin,
// and reading the file as a Blob still works meanwhile, but removing or
// writing f fails with a NoModificationAllowedError until they are closed.
// It fails with an error matching errs.ErrUnsupported where sync access
// handles do not exist or the browser ignores the mode (it would have
// opened an exclusive handle, which is closed again), and with an error
// matching errs.ErrNotFound once f was removed.
func (f *File) OpenReadOnly(ctx context.Context) (*SyncHandle, error) {
	v, err := callAsync(ctx, f.v, "createSyncAccessHandle", object("mode", "read-only"))
	if err != nil {
		return nil, fmt.Errorf("fsx: open %q to read: %w", f.name, err)
	}
	if m := v.Get("mode"); m.Type() != js.TypeString || m.String() != "read-only" {
		_ = jsutil.Try(func() { v.Call("close") })
		return nil, fmt.Errorf("fsx: open %q to read: read-only sync access handles: %w", f.name, errs.ErrUnsupported)
	}
	return &SyncHandle{v: v, name: f.name}, nil
}

// InDedicatedWorker reports whether the Go program runs in a dedicated
// worker, where sync access handles are available.
func InDedicatedWorker() bool {
	c := js.Global().Get("DedicatedWorkerGlobalScope")
	return c.Type() == js.TypeFunction && js.Global().InstanceOf(c)
}

// WritableSupported reports whether files can be written with
// createWritable here (Safari before 26 has no such method, also in
// workers).
func WritableSupported() bool {
	c := js.Global().Get("FileSystemFileHandle")
	return c.Type() == js.TypeFunction && c.Get("prototype").Get("createWritable").Type() == js.TypeFunction
}

// SyncAccessSupported reports whether this context can create sync access
// handles: a dedicated worker of a browser that has them.
func SyncAccessSupported() bool {
	c := js.Global().Get("FileSystemFileHandle")
	return InDedicatedWorker() && c.Type() == js.TypeFunction &&
		c.Get("prototype").Get("createSyncAccessHandle").Type() == js.TypeFunction
}
