package assetref

// Shared by the JSON and msgpack codecs: the wire names and a decode state
// that gathers all string fields into one buffer so that a decoded Ref costs
// one allocation for all its strings.

// Indexes of the string fields, in encoding order. Bytes is encoded between
// MIME and Hash but is a number, so it is kept apart.
const (
	fKind = iota
	fURL
	fPath
	fHandleID
	fBlobKey
	fID
	fMIME
	fHash
	numStringFields
)

// Wire names. They are stored in IndexedDB records and exported packages,
// and never change.
const (
	keyKind     = "kind"
	keyURL      = "url"
	keyPath     = "path"
	keyHandleID = "handleId"
	keyBlobKey  = "blobKey"
	keyID       = "id"
	keyMIME     = "mime"
	keyBytes    = "bytes"
	keyHash     = "hash"
)

// fieldIndex returns the string field a key names, fBytes for "bytes" and
// -1 for keys this version does not know.
func fieldIndex(key []byte) int {
	// A switch on string(key) does not allocate.
	switch string(key) {
	case keyKind:
		return fKind
	case keyURL:
		return fURL
	case keyPath:
		return fPath
	case keyHandleID:
		return fHandleID
	case keyBlobKey:
		return fBlobKey
	case keyID:
		return fID
	case keyMIME:
		return fMIME
	case keyHash:
		return fHash
	case keyBytes:
		return fBytes
	}
	return -1
}

const fBytes = numStringFields

// maxFieldLen bounds each string field while decoding, before the bytes are
// copied, so that a hostile length prefix cannot make the decoder allocate.
var maxFieldLen = [numStringFields]int{
	fKind:     16,
	fURL:      MaxURLLen,
	fPath:     MaxPathLen,
	fHandleID: MaxKeyLen,
	fBlobKey:  MaxKeyLen,
	fID:       MaxIDLen,
	fMIME:     MaxMIMELen,
	fHash:     hashLen,
}

var fieldNames = [numStringFields]string{keyKind, keyURL, keyPath, keyHandleID, keyBlobKey, keyID, keyMIME, keyHash}

type span struct{ start, end int }

type decodeState struct {
	buf   []byte // string field values back to back
	spans [numStringFields]span
	set   [numStringFields]bool
	bytes int64
}

// setString records that the field's value is buf[start:].
func (st *decodeState) setString(f, start int) error {
	if len(st.buf)-start > maxFieldLen[f] {
		return refErr(fieldNames[f], "too long")
	}
	st.spans[f] = span{start, len(st.buf)}
	st.set[f] = true
	return nil
}

// ref builds the Ref with a single string allocation and validates it.
func (st *decodeState) ref() (Ref, error) {
	st.compact()
	all := string(st.buf)
	var s [numStringFields]string
	for f := range s {
		if st.set[f] {
			s[f] = all[st.spans[f].start:st.spans[f].end]
		}
	}
	r := Ref{
		Kind:     internKind(s[fKind]),
		URL:      s[fURL],
		Path:     s[fPath],
		HandleID: s[fHandleID],
		BlobKey:  s[fBlobKey],
		ID:       s[fID],
		MIME:     s[fMIME],
		Bytes:    st.bytes,
		Hash:     s[fHash],
	}
	if err := r.Validate(); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// compact drops the bytes of values that a repeated key replaced, so that
// the Ref does not keep them alive.
func (st *decodeState) compact() {
	total := 0
	for f, sp := range st.spans {
		if st.set[f] {
			total += sp.end - sp.start
		}
	}
	if total == len(st.buf) {
		return
	}
	buf := make([]byte, 0, total)
	for f, sp := range st.spans {
		if st.set[f] {
			start := len(buf)
			buf = append(buf, st.buf[sp.start:sp.end]...)
			st.spans[f] = span{start, len(buf)}
		}
	}
	st.buf = buf
}

// internKind returns the constant for a known kind, so a decoded Kind does
// not point into the decode buffer.
func internKind(s string) Kind {
	switch Kind(s) {
	case KindURL:
		return KindURL
	case KindOPFS:
		return KindOPFS
	case KindFSHandle:
		return KindFSHandle
	case KindIDB:
		return KindIDB
	case KindEmbedded:
		return KindEmbedded
	}
	return Kind(s)
}

// stringField returns r's string field with index f; the encoders walk f
// in order and slot Bytes in before Hash.
func (r *Ref) stringField(f int) string {
	switch f {
	case fKind:
		return string(r.Kind)
	case fURL:
		return r.URL
	case fPath:
		return r.Path
	case fHandleID:
		return r.HandleID
	case fBlobKey:
		return r.BlobKey
	case fID:
		return r.ID
	case fMIME:
		return r.MIME
	case fHash:
		return r.Hash
	}
	return ""
}
