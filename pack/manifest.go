package pack

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
)

// Names and limits of the package format, version 1.
const (
	// PackageVersion is the manifest's packageVersion this package writes
	// and the only one it reads.
	PackageVersion = 1

	// Extension is the file name extension of a package.
	Extension = ".genaiw.zip"

	// ManifestFile is the name of the manifest entry.
	ManifestFile = "manifest.json"

	// WorkflowFile is the name of the workflow entry; the manifest's
	// workflow.file must be exactly this.
	WorkflowFile = "workflow.json"

	// AssetDir is the directory of the embedded assets' files.
	AssetDir = "assets/"

	// MaxManifestBytes is the largest manifest.json accepted.
	MaxManifestBytes = 1 << 20

	// MaxAssetIDLen is the longest asset id accepted, in bytes.
	MaxAssetIDLen = 128

	// MaxExtLen is the longest file name extension accepted in an
	// embedded asset's file name, in bytes.
	MaxExtLen = 16
)

// Origin says where an asset of a package is.
type Origin string

// The origins of manifest version 1.
const (
	// OriginEmbedded: the asset's bytes are in the package, in File.
	OriginEmbedded Origin = "embedded"
	// OriginURL: the asset is fetched from URL; the package holds no bytes.
	OriginURL Origin = "url"
)

// Manifest is the content of manifest.json: what the package holds.
type Manifest struct {
	PackageVersion int          `json:"packageVersion"` // always PackageVersion
	App            App          `json:"app"`            // the program that wrote the package
	CreatedAt      time.Time    `json:"createdAt"`      // written as RFC 3339
	Workflow       WorkflowInfo `json:"workflow"`
	Assets         []Asset      `json:"assets"` // every asset the workflow references, each once
}

// App names the program that wrote a package.
type App struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// WorkflowInfo describes the package's one workflow.
type WorkflowInfo struct {
	ID   string `json:"id"`   // the workflow's id in workflow.json
	File string `json:"file"` // always WorkflowFile
	Name string `json:"name"` // the workflow's name in workflow.json
}

// Asset is one asset of a package. An embedded asset has File and no URL,
// and its MIME, Bytes and Hash are required; a url asset has URL and no
// File, and MIME, Bytes (0 for unknown) and Hash are optional.
//
// ID is 1 to MaxAssetIDLen ASCII letters, digits, '-' and '_' (Export uses
// UUIDv7s). File is "assets/<id>.<ext>", the extension optional and at
// most MaxExtLen letters and digits.
type Asset struct {
	ID     string `json:"id"`
	Origin Origin `json:"origin"`
	MIME   string `json:"mime,omitempty"`
	Bytes  int64  `json:"bytes"`
	Hash   string `json:"hash,omitempty"` // "sha256-<base64>", as assetref.HashBytes computes it
	File   string `json:"file,omitempty"`
	URL    string `json:"url,omitempty"`
}

// rawManifest mirrors Manifest with pointers, so that a missing field can
// be told from a zero one.
type rawManifest struct {
	App *struct {
		Name    *string `json:"name"`
		Version *string `json:"version"`
	} `json:"app"`
	CreatedAt *string `json:"createdAt"`
	Workflow  *struct {
		ID   *string `json:"id"`
		File *string `json:"file"`
		Name *string `json:"name"`
	} `json:"workflow"`
	Assets *[]rawAsset `json:"assets"`
}

type rawAsset struct {
	ID     *string `json:"id"`
	Origin *string `json:"origin"`
	MIME   *string `json:"mime"`
	Bytes  *int64  `json:"bytes"`
	Hash   *string `json:"hash"`
	File   *string `json:"file"`
	URL    *string `json:"url"`
}

// ParseManifest decodes and validates the content of manifest.json. Keys
// it does not know are ignored, so that a newer writer can add some.
//
// It fails with a *PackageError whose Problem is ErrTooLarge if data is
// over MaxManifestBytes, ErrMalformedJSON if it is not JSON,
// ErrUnsupportedVersion if packageVersion is an integer other than 1 (that
// is checked before anything else, since another version may have another
// schema), and otherwise as Validate does or with ErrInvalidManifest for a
// missing field or one of the wrong type.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestBytes {
		return nil, bad(ErrTooLarge, ManifestFile, "larger than 1 MiB")
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return nil, &PackageError{Problem: ErrMalformedJSON, Entry: ManifestFile, Err: err}
	}
	if !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{")) {
		return nil, bad(ErrInvalidManifest, ManifestFile, "not a JSON object")
	}
	var ver struct {
		PackageVersion json.RawMessage `json:"packageVersion"`
	}
	if err := json.Unmarshal(data, &ver); err != nil {
		return nil, &PackageError{Problem: ErrInvalidManifest, Entry: ManifestFile, Err: err}
	}
	if len(ver.PackageVersion) == 0 || string(ver.PackageVersion) == "null" {
		return nil, bad(ErrInvalidManifest, ManifestFile, "packageVersion: required")
	}
	v, err := strconv.ParseInt(string(ver.PackageVersion), 10, 64)
	if err != nil {
		return nil, bad(ErrInvalidManifest, ManifestFile, "packageVersion: must be an integer")
	}
	if v != PackageVersion {
		return nil, bad(ErrUnsupportedVersion, ManifestFile, "packageVersion "+strconv.FormatInt(v, 10)+"; this version reads 1")
	}

	var raw rawManifest
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &PackageError{Problem: ErrInvalidManifest, Entry: ManifestFile, Err: typeErr(err)}
	}
	m := &Manifest{PackageVersion: PackageVersion}
	if raw.App == nil {
		return nil, missing("app")
	}
	if raw.App.Name == nil {
		return nil, missing("app.name")
	}
	m.App.Name = *raw.App.Name
	if raw.App.Version != nil {
		m.App.Version = *raw.App.Version
	}
	if raw.CreatedAt == nil {
		return nil, missing("createdAt")
	}
	t, err := time.Parse(time.RFC3339, *raw.CreatedAt)
	if err != nil {
		return nil, invalidManifest("createdAt: not an RFC 3339 date and time")
	}
	m.CreatedAt = t
	if raw.Workflow == nil {
		return nil, missing("workflow")
	}
	for _, f := range []struct {
		name string
		src  *string
		dst  *string
	}{
		{"workflow.id", raw.Workflow.ID, &m.Workflow.ID},
		{"workflow.file", raw.Workflow.File, &m.Workflow.File},
		{"workflow.name", raw.Workflow.Name, &m.Workflow.Name},
	} {
		if f.src == nil {
			return nil, missing(f.name)
		}
		*f.dst = *f.src
	}
	if raw.Assets == nil {
		return nil, missing("assets")
	}
	m.Assets = make([]Asset, len(*raw.Assets))
	for i, ra := range *raw.Assets {
		a := &m.Assets[i]
		at := "assets[" + strconv.Itoa(i) + "]."
		if ra.ID == nil {
			return nil, missing(at + "id")
		}
		if ra.Origin == nil {
			return nil, missing(at + "origin")
		}
		a.ID, a.Origin = *ra.ID, Origin(*ra.Origin)
		for _, f := range []struct {
			src *string
			dst *string
		}{{ra.MIME, &a.MIME}, {ra.Hash, &a.Hash}, {ra.File, &a.File}, {ra.URL, &a.URL}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if ra.Bytes != nil {
			a.Bytes = *ra.Bytes
		} else if a.Origin == OriginEmbedded {
			return nil, missing(at + "bytes")
		}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// typeErr shortens a json.UnmarshalTypeError to the field and the type,
// leaving out the offending value, which comes from the package.
func typeErr(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return errors.New(te.Field + ": must be " + te.Type.String())
	}
	return err
}

func missing(field string) error { return invalidManifest(field + ": required") }

func invalidManifest(detail string) error { return bad(ErrInvalidManifest, ManifestFile, detail) }

// Validate checks m against manifest version 1: packageVersion 1; an app
// name of printable text; a createdAt; a canonical workflow id, the file
// WorkflowFile and a workflow name that graph validation would accept; and
// for every asset a well-formed unique id, a known origin and the fields
// of that origin (see Asset), valid MIME type, hash and size, and for url
// assets an absolute http(s) URL listed once.
//
// It fails with a *PackageError whose Problem is ErrUnsupportedVersion,
// ErrUnsupportedURL for a url asset with another scheme, or
// ErrInvalidManifest.
func (m *Manifest) Validate() error {
	if m.PackageVersion != PackageVersion {
		return bad(ErrUnsupportedVersion, ManifestFile, "packageVersion "+strconv.Itoa(m.PackageVersion)+"; this version reads 1")
	}
	if err := checkText("app.name", m.App.Name, 200, true); err != nil {
		return err
	}
	if err := checkText("app.version", m.App.Version, 64, false); err != nil {
		return err
	}
	if m.CreatedAt.IsZero() {
		return missing("createdAt")
	}
	if !graph.ValidID(m.Workflow.ID) {
		return invalidManifest("workflow.id: must be a canonical UUID")
	}
	if m.Workflow.File != WorkflowFile {
		return invalidManifest("workflow.file: must be " + WorkflowFile)
	}
	if err := checkText("workflow.name", m.Workflow.Name, graph.MaxNameLen, true); err != nil {
		return err
	}
	ids := make(map[string]struct{}, len(m.Assets))
	urls := make(map[string]struct{})
	for i := range m.Assets {
		a := &m.Assets[i]
		at := "assets[" + strconv.Itoa(i) + "]."
		if !validAssetID(a.ID) {
			return invalidManifest(at + "id: must be 1 to 128 ASCII letters, digits, '-' and '_'")
		}
		if _, dup := ids[a.ID]; dup {
			return invalidManifest(at + "id: duplicate " + quote(a.ID))
		}
		ids[a.ID] = struct{}{}
		if err := a.validate(at); err != nil {
			return err
		}
		if a.Origin == OriginURL {
			if _, dup := urls[a.URL]; dup {
				return invalidManifest(at + "url: listed twice")
			}
			urls[a.URL] = struct{}{}
		}
	}
	return nil
}

func (a *Asset) validate(at string) error {
	ref := assetref.Ref{MIME: a.MIME, Bytes: a.Bytes, Hash: a.Hash}
	switch a.Origin {
	case OriginEmbedded:
		if a.URL != "" {
			return invalidManifest(at + "url: not allowed for an embedded asset")
		}
		if !validAssetFile(a.File, a.ID) {
			return invalidManifest(at + "file: must be assets/<id>.<ext>")
		}
		if a.MIME == "" {
			return missing(at + "mime")
		}
		if a.Hash == "" {
			return missing(at + "hash")
		}
		ref.Kind, ref.ID = assetref.KindEmbedded, a.ID
	case OriginURL:
		if a.File != "" {
			return invalidManifest(at + "file: not allowed for a url asset")
		}
		if a.URL == "" {
			return missing(at + "url")
		}
		if !httpURL(a.URL) {
			return bad(ErrUnsupportedURL, ManifestFile, at+"url")
		}
		ref.Kind, ref.URL = assetref.KindURL, a.URL
	default:
		return invalidManifest(at + "origin: must be embedded or url")
	}
	if err := ref.Validate(); err != nil {
		var re *assetref.RefError
		if errors.As(err, &re) && re.Field == "url" {
			return bad(ErrUnsupportedURL, ManifestFile, at+"url: "+re.Reason)
		}
		return &PackageError{Problem: ErrInvalidManifest, Entry: ManifestFile, Detail: strings.TrimSuffix(at, "."), Err: err}
	}
	return nil
}

// httpURL reports whether s has the scheme http or https (in any case);
// whether the rest is well-formed is Ref.Validate's to say.
func httpURL(s string) bool {
	scheme, _, ok := strings.Cut(s, ":")
	return ok && (strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https"))
}

// validAssetID reports whether s can be an asset id: it becomes a file
// name inside the package and on the importing side, so it is kept to a
// character set that is safe everywhere.
func validAssetID(s string) bool {
	if len(s) == 0 || len(s) > MaxAssetIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validAssetFile reports whether name is "assets/<id>" with an optional
// ".<ext>" of 1 to MaxExtLen ASCII letters and digits.
func validAssetFile(name, id string) bool {
	rest, ok := strings.CutPrefix(name, AssetDir+id)
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	ext, ok := strings.CutPrefix(rest, ".")
	if !ok || len(ext) == 0 || len(ext) > MaxExtLen {
		return false
	}
	for i := 0; i < len(ext); i++ {
		if c := ext[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// checkText checks printable text of at most max characters.
func checkText(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return missing(field)
	}
	if !utf8.ValidString(s) {
		return invalidManifest(field + ": not valid UTF-8")
	}
	if utf8.RuneCountInString(s) > max {
		return invalidManifest(field + ": longer than " + strconv.Itoa(max) + " characters")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return invalidManifest(field + ": contains control characters")
		}
	}
	return nil
}
