package pack

import (
	"errors"
	"strconv"
	"strings"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
)

// ErrInvalidPackage is matched, with errors.Is, by every error Import and
// ReadManifest return because the package itself is bad: not a zip, unsafe
// or unexpected entries, sizes or hashes that do not match the manifest, an
// invalid manifest or graph. Such an error is always a *PackageError, which
// also matches errs.ErrInvalid and the sentinel of its Problem. When it
// is returned, nothing was stored: assets Import had already put into the
// sink were deleted again.
var ErrInvalidPackage = errors.New("invalid package")

// The problems a *PackageError reports. Each one is matched with errors.Is
// by the errors of that problem only; all of them also match
// ErrInvalidPackage and errs.ErrInvalid.
var (
	// ErrNotZip: the input is not a zip archive (no end-of-central-directory
	// record, and it does not start like one either).
	ErrNotZip = errors.New("not a zip archive")

	// ErrTruncated: the input starts like a zip archive but its end is
	// missing, as when a download or copy was cut short.
	ErrTruncated = errors.New("truncated zip archive")

	// ErrCorruptZip: the archive's structure is broken or uses something
	// this package does not read: inconsistent directory records, entries
	// that overlap or lie outside the archive, a local header that disagrees
	// with the central directory, a CRC-32 mismatch, a broken deflate
	// stream, encryption, multiple disks, or a compression method other
	// than store and deflate.
	ErrCorruptZip = errors.New("corrupt or unsupported zip archive")

	// ErrUnsafeName: an entry name that could escape the directory it is
	// extracted to or means different things on different systems: an
	// absolute path, a drive letter, a backslash, an empty, "." or ".."
	// segment, a control character or invalid UTF-8.
	ErrUnsafeName = errors.New("unsafe entry name")

	// ErrSymlink: an entry whose Unix mode (in the external attributes
	// of its central directory record, as `zip --symlinks` writes them)
	// makes it a symbolic link. Its content is a link target, not a file;
	// a package has no links, so the entry is refused rather than read as
	// a regular file.
	ErrSymlink = errors.New("entry is a symbolic link")

	// ErrDuplicateEntry: two entries with the same name.
	ErrDuplicateEntry = errors.New("duplicate entry")

	// ErrUnlistedEntry: an entry the manifest does not list (only
	// manifest.json, the workflow file, the files of embedded assets and
	// the assets/ directory are allowed).
	ErrUnlistedEntry = errors.New("entry not listed in the manifest")

	// ErrMissingEntry: manifest.json, the workflow file or the file of an
	// embedded asset is not in the archive.
	ErrMissingEntry = errors.New("listed entry is missing")

	// ErrSizeMismatch: an entry's size in the archive, or the number of
	// bytes it actually inflates to, differs from the manifest's bytes.
	ErrSizeMismatch = errors.New("size does not match the manifest")

	// ErrHashMismatch: an embedded asset's SHA-256 differs from the
	// manifest's hash.
	ErrHashMismatch = errors.New("hash does not match the manifest")

	// ErrUnsupportedVersion: the manifest's packageVersion is an integer
	// other than 1, the only version this package reads.
	ErrUnsupportedVersion = errors.New("unsupported package version")

	// ErrTooLarge: a limit was exceeded: manifest.json over MaxManifestBytes,
	// the workflow file over ImportOptions.MaxWorkflowBytes, embedded assets
	// over ImportOptions.MaxTotalBytes, more than ImportOptions.MaxAssets
	// assets, or a central directory too large for its entries.
	ErrTooLarge = errors.New("too large")

	// ErrCompressionRatio: an entry would inflate to more than
	// ImportOptions.MaxRatio times its compressed size.
	ErrCompressionRatio = errors.New("compression ratio too high")

	// ErrUnsupportedURL: a url asset, in the manifest or in the graph, that
	// is not an absolute http or https URL (blob:, data:, javascript: and
	// other schemes are refused).
	ErrUnsupportedURL = errors.New("url asset is not an absolute http(s) URL")

	// ErrMalformedJSON: manifest.json or the workflow file is not JSON.
	ErrMalformedJSON = errors.New("malformed JSON")

	// ErrInvalidManifest: manifest.json is JSON but not a valid version 1
	// manifest: a required field missing or of the wrong type, a malformed
	// id, MIME type, hash or URL, an unknown origin, a file name that is
	// not assets/<id>.<ext>, duplicate asset ids or URLs.
	ErrInvalidManifest = errors.New("invalid manifest")

	// ErrInvalidGraph: the workflow file is not in the graph layout (an
	// object {"workflow": {...}, "nodes": [...], "edges": [...]}; a flat
	// workflow object, another program's workflow format, an array, ...),
	// does not decode to a graph that passes (*graph.Graph).Validate
	// (dangling edges, malformed or duplicate ids, ...), or its workflow
	// id or name differs from the manifest's. The *errs.ValidationError,
	// when there is one, is wrapped.
	ErrInvalidGraph = errors.New("invalid workflow graph")

	// ErrRefMismatch: an asset reference in the workflow file does not
	// match the manifest: an embedded id or a URL the manifest does not
	// list, differing MIME, bytes or hash, a local kind (opfs, fs-handle,
	// idb) that should have been embedded, or a manifest asset no node
	// references.
	ErrRefMismatch = errors.New("asset reference does not match the manifest")
)

// PackageError describes why a package was rejected. It matches
// ErrInvalidPackage, errs.ErrInvalid and its Problem with errors.Is, and
// unwraps to Err.
type PackageError struct {
	Problem error  // one of ErrNotZip … ErrRefMismatch; Reason names it
	Entry   string // the zip entry concerned, if any
	Detail  string // what exactly is wrong; may be empty
	Err     error  // the underlying error, if any
}

// Error returns "invalid package: <entry>: <problem>: <detail>: <err>",
// leaving out the parts that are empty. The entry name is quoted and
// shortened, since it comes from the package.
func (e *PackageError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidPackage.Error())
	if e.Entry != "" {
		b.WriteString(": ")
		b.WriteString(quote(e.Entry))
	}
	if e.Problem != nil {
		b.WriteString(": ")
		b.WriteString(e.Problem.Error())
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is reports whether target is ErrInvalidPackage, errs.ErrInvalid or
// e.Problem.
func (e *PackageError) Is(target error) bool {
	return target == ErrInvalidPackage || target == errs.ErrInvalid || (target == e.Problem && target != nil)
}

// Unwrap returns the underlying error, if any.
func (e *PackageError) Unwrap() error { return e.Err }

// Reason returns the stable name of e.Problem: "HashMismatch" for
// ErrHashMismatch, and so on, the sentinel's name without "Err" (see
// problems). It is what the JavaScript API reports as err.reason, for
// programs to branch on; the message is for people. It returns "" for a
// Problem that is not one of this package's.
func (e *PackageError) Reason() string {
	for _, p := range problems {
		if p.err == e.Problem {
			return p.reason
		}
	}
	return ""
}

// problems lists every Problem a *PackageError can have, with its Reason.
// The reasons are API: atelier.d.ts lists the same ones in
// PackageErrorReason, and a test keeps the two lists equal. Add new ones;
// never rename one.
var problems = []struct {
	err    error
	reason string
}{
	{ErrNotZip, "NotZip"},
	{ErrTruncated, "Truncated"},
	{ErrCorruptZip, "CorruptZip"},
	{ErrUnsafeName, "UnsafeName"},
	{ErrSymlink, "Symlink"},
	{ErrDuplicateEntry, "DuplicateEntry"},
	{ErrUnlistedEntry, "UnlistedEntry"},
	{ErrMissingEntry, "MissingEntry"},
	{ErrSizeMismatch, "SizeMismatch"},
	{ErrHashMismatch, "HashMismatch"},
	{ErrUnsupportedVersion, "UnsupportedVersion"},
	{ErrTooLarge, "TooLarge"},
	{ErrCompressionRatio, "CompressionRatio"},
	{ErrUnsupportedURL, "UnsupportedURL"},
	{ErrMalformedJSON, "MalformedJSON"},
	{ErrInvalidManifest, "InvalidManifest"},
	{ErrInvalidGraph, "InvalidGraph"},
	{ErrRefMismatch, "RefMismatch"},
}

func bad(problem error, entry, detail string) *PackageError {
	return &PackageError{Problem: problem, Entry: entry, Detail: detail}
}

// quote renders a string from the package for an error message: quoted,
// so control characters show, and shortened, so a hostile name cannot make
// the message huge.
func quote(s string) string {
	const max = 96
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

// Errors of Export, besides those of the AssetSource, the FetchFunc and the
// io.Writer, which are wrapped.
var (
	// ErrContentMismatch: an asset's content does not match the size or
	// hash its ref records. For a local asset the store handed out other
	// content than the graph points at; for a url asset the server now
	// serves other content.
	ErrContentMismatch = errors.New("asset content does not match its ref")

	// ErrOriginalTooLarge: a url asset's original is larger than
	// ExportOptions.MaxOriginalBytes.
	ErrOriginalTooLarge = errors.New("original is larger than the limit")

	// ErrNoFetch: a blob: URL asset cannot be exported because
	// ExportOptions.Fetch is nil. A blob: URL lives only as long as its
	// document, so its bytes must be embedded.
	ErrNoFetch = errors.New("blob: URL asset needs ExportOptions.Fetch to be embedded")
)

// AssetFailure is one asset that Export could not embed.
type AssetFailure struct {
	Ref   assetref.Ref // the ref in the graph given to Export
	Nodes []string     // ids of the nodes whose result it is
	Err   error        // why: the source's or fetch's error, ErrContentMismatch, ErrOriginalTooLarge, ErrNoFetch, a timeout
}

// AssetError is returned by Export when assets could not be embedded: any
// local asset (opfs, fs-handle, idb, embedded, blob: URL) that failed, and
// url assets whose originals failed unless ExportOptions.KeepFailedAsURL is
// set. It lists every failure, not just the first. errors.Is and errors.As
// see through it to each failure's Err, so errors.Is(err,
// errs.ErrNotFound) reports a missing asset.
type AssetError struct {
	Failures []AssetFailure
}

// Error lists the failed assets, at most eight of them.
func (e *AssetError) Error() string {
	var b strings.Builder
	b.WriteString("pack: ")
	b.WriteString(strconv.Itoa(len(e.Failures)))
	if len(e.Failures) == 1 {
		b.WriteString(" asset")
	} else {
		b.WriteString(" assets")
	}
	b.WriteString(" could not be exported")
	for i, f := range e.Failures {
		if i == 8 {
			b.WriteString("; …")
			break
		}
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(describeRef(f.Ref))
		b.WriteString(": ")
		b.WriteString(f.Err.Error())
	}
	return b.String()
}

// Unwrap returns the error of every failure.
func (e *AssetError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}
