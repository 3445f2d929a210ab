//go:build js && wasm

package main

import (
	"context"
	"errors"
	"syscall/js"

	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/pack"
)

// errorCodes maps sentinels to the name and code of the JavaScript Error,
// first match first; a *pack.AssetError is "ExportFailed", anything else
// "Internal". atelier.d.ts lists the
// same codes in ErrorCode.
var errorCodes = []struct {
	err  error
	code string
}{
	{pack.ErrInvalidPackage, "InvalidPackage"}, // before Invalid: it matches that too
	{errAborted, "Aborted"},                    // before the errors an interrupted call returns
	{atelier.ErrCorrupt, "Corrupt"},            // before NotFound: a corrupt fetch matches that too
	{assetref.ErrNotUploaded, "NotUploaded"},
	{atelier.ErrNotFound, "NotFound"},
	{atelier.ErrInvalidRef, "InvalidRef"},
	{atelier.ErrInvalid, "Invalid"},
	{atelier.ErrVersionConflict, "VersionConflict"},
	{atelier.ErrClosed, "Closed"},
	{atelier.ErrQuotaExceeded, "QuotaExceeded"}, // before WriteFailed: a quota failure matches that too
	{atelier.ErrSchemaTooNew, "SchemaTooNew"},
	{atelier.ErrUnsupported, "Unsupported"},
	{idb.ErrReadOnly, "ReadOnly"},
	{assetref.ErrInUse, "InUse"},
	{atelier.ErrPermission, "Permission"},
	{atelier.ErrUnavailable, "Unavailable"},
	{atelier.ErrWriteFailed, "WriteFailed"},
	{context.Canceled, "Aborted"},
	{context.DeadlineExceeded, "Timeout"},
}

func errorCode(err error) string {
	// Before the sentinels its failures match: the export as a whole
	// failed, and err.failures has each asset's own code.
	var ae *pack.AssetError
	if errors.As(err, &ae) {
		return "ExportFailed"
	}
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "Internal"
}

// errorValue is the JavaScript Error for err: name and code are its code,
// and the details Go knows are properties (see AtelierError in
// atelier.d.ts).
func errorValue(err error) js.Value {
	code := errorCode(err)
	e := errorClass.New(err.Error())
	e.Set("name", code)
	e.Set("code", code)
	var (
		ve *atelier.ValidationError
		ce *idb.ConflictError
		re *assetref.RefError
		ae *pack.AssetError
		pe *pack.PackageError
	)
	switch {
	case errors.As(err, &pe):
		// Before ValidationError: an InvalidGraph problem wraps one, and
		// its field-level reason would hide what is wrong with the package.
		e.Set("reason", pe.Reason())
		if pe.Entry != "" {
			e.Set("entry", pe.Entry)
		}
	case errors.As(err, &ce):
		e.Set("entity", ce.Entity)
		e.Set("id", ce.ID)
		e.Set("expected", ce.Expected)
		e.Set("actual", ce.Actual)
	case errors.As(err, &ve):
		e.Set("entity", ve.Entity)
		if ve.ID != "" {
			e.Set("id", ve.ID)
		}
		if ve.Field != "" {
			e.Set("field", ve.Field)
		}
		e.Set("reason", ve.Reason)
	case errors.As(err, &re):
		if re.Field != "" {
			e.Set("field", re.Field)
		}
		e.Set("reason", re.Reason)
	}
	if errors.As(err, &ae) {
		e.Set("failures", failuresJS(ae.Failures))
	}
	return e
}

// failuresJS lists assets an export could not embed as AssetFailure
// objects.
func failuresJS(fs []pack.AssetFailure) js.Value {
	out := jsArray.New()
	for _, f := range fs {
		var ref any = js.Undefined()
		if v, err := toJS(f.Ref); err == nil {
			ref = v
		}
		nodes := jsArray.New()
		for _, n := range f.Nodes {
			nodes.Call("push", n)
		}
		out.Call("push", object("ref", ref, "nodes", nodes, "code", errorCode(f.Err), "message", f.Err.Error()))
	}
	return out
}

// tryInvoke calls cb and returns what it threw.
func tryInvoke(cb js.Value, args ...any) error {
	return jsutil.Try(func() { cb.Invoke(args...) })
}
