package pack

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"runtime"
	"slices"
	"strconv"
)

// The zip container is read here rather than with
// github.com/klauspost/compress/zip's Reader so that a hostile archive is
// bounded before anything is allocated for it: zip.NewReader reads
// directory records until it meets something else, however many there
// are, and only then can the caller count them. Here the end records are
// checked first (entry count, directory size, layout), the whole central
// directory is read with one ReadAt (one round trip to the browser's File),
// and entries are checked for overlap and for a local header that agrees
// with the directory. Inflating is the standard library's compress/flate.

// zipReader is a parsed central directory.
type zipReader struct {
	r        io.ReaderAt
	size     int64
	files    []zipFile
	dirStart uint64
}

// zipFile is one central directory record.
type zipFile struct {
	name   string
	flags  uint16
	method uint16
	crc    uint32
	csize  uint64
	usize  uint64
	offset uint64 // of the local header
	limit  uint64 // where the next entry or the central directory starts
	mode   uint32 // Unix mode bits from the external attributes; 0 if the creator is not Unix
}

// Unix file types in zipFile.mode (S_IFMT and S_IFLNK).
const (
	unixTypeMask    = 0o170000
	unixTypeSymlink = 0o120000
)

// Creators (the high byte of "version made by") whose external attributes
// hold a Unix mode in their upper 16 bits: Unix and OS X, as Go's
// archive/zip reads them.
const (
	creatorUnix  = 3
	creatorMacOS = 19
)

// symlink reports whether f's Unix mode makes it a symbolic link.
func (f *zipFile) symlink() bool { return f.mode&unixTypeMask == unixTypeSymlink }

// ioError marks an error of the caller's io.ReaderAt, which is reported as
// it is rather than as an invalid package: a File the browser can no
// longer read says nothing about the package.
type ioError struct{ err error }

func (e *ioError) Error() string { return "pack: read package: " + e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

// readAt fills buf from offset off. A short read means the input is
// shorter than the size it was given with, which is reported as
// truncation.
func readAt(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
		return bad(ErrTruncated, "", "input ends before its stated size")
	}
	return &ioError{err}
}

func corrupt(entry, detail string) *PackageError { return bad(ErrCorruptZip, entry, detail) }

// openZip reads the end records and the central directory. It fails with
// a *PackageError (ErrNotZip, ErrTruncated, ErrCorruptZip, or ErrTooLarge
// for more than maxEntries entries) or an *ioError.
func openZip(r io.ReaderAt, size int64, maxEntries int) (*zipReader, error) {
	if size < 0 {
		return nil, errors.New("pack: negative package size")
	}
	tailLen := min(size, endLen+max16)
	tail := make([]byte, tailLen)
	if err := readAt(r, tail, size-tailLen); err != nil {
		return nil, err
	}
	// The end record is the last thing in the file: its comment must
	// reach exactly to the end. Searching backwards finds the real one
	// even if a comment happens to contain the signature.
	endAt, misplaced := -1, false
	for i := len(tail) - endLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(tail[i:]) == sigEnd {
			if i+endLen+int(binary.LittleEndian.Uint16(tail[i+20:])) == len(tail) {
				endAt = i
				break
			}
			misplaced = true
		}
	}
	if endAt < 0 {
		if misplaced {
			return nil, corrupt("", "data after the end of central directory record")
		}
		head := tail
		if tailLen < size {
			head = make([]byte, 4)
			if err := readAt(r, head, 0); err != nil {
				return nil, err
			}
		}
		if len(head) >= 4 && binary.LittleEndian.Uint32(head) == sigLocal {
			return nil, bad(ErrTruncated, "", "no end of central directory record")
		}
		return nil, bad(ErrNotZip, "", "")
	}
	endOff := uint64(size-tailLen) + uint64(endAt)
	e := tail[endAt:]
	disk := uint32(le16At(e, 4))
	dirDisk := uint32(le16At(e, 6))
	countDisk := uint64(le16At(e, 8))
	count := uint64(le16At(e, 10))
	dirSize := uint64(le32At(e, 12))
	dirStart := uint64(le32At(e, 16))
	recordsEnd := endOff // where the central directory must end

	if z64, ok, err := readEnd64(r, endOff); err != nil {
		return nil, err
	} else if ok {
		disk, dirDisk = le32At(z64, 16), le32At(z64, 20)
		countDisk, count = le64At(z64, 24), le64At(z64, 32)
		dirSize, dirStart = le64At(z64, 40), le64At(z64, 48)
		recordsEnd = endOff - locator64Len - end64Len
	} else if countDisk == max16 || count == max16 || dirSize == max32 || dirStart == max32 {
		return nil, corrupt("", "zip64 end records missing")
	}
	if disk != 0 || dirDisk != 0 || countDisk != count {
		return nil, corrupt("", "multi-disk archives are not supported")
	}
	// Nothing may sit between the central directory and the end records,
	// nor (since offsets count from the start of the file) in front of
	// the archive.
	if dirStart > recordsEnd || recordsEnd-dirStart != dirSize {
		return nil, corrupt("", "central directory is not where the end record says")
	}
	if count > uint64(maxEntries) {
		return nil, bad(ErrTooLarge, "", strconv.FormatUint(count, 10)+" entries; at most "+strconv.Itoa(maxEntries)+" allowed")
	}
	if dirSize < count*centralLen || dirSize > 64<<10+count*1024 {
		return nil, corrupt("", "central directory size does not fit its entry count")
	}
	dir := make([]byte, dirSize)
	if err := readAt(r, dir, int64(dirStart)); err != nil {
		return nil, err
	}
	z := &zipReader{r: r, size: size, dirStart: dirStart, files: make([]zipFile, 0, count)}
	b := dir
	for uint64(len(z.files)) < count {
		f, rest, err := parseCentral(b)
		if err != nil {
			return nil, err
		}
		b = rest
		z.files = append(z.files, f)
	}
	if len(b) != 0 {
		return nil, corrupt("", "central directory has bytes after its last record")
	}
	if err := z.checkLayout(); err != nil {
		return nil, err
	}
	return z, nil
}

// readEnd64 returns the zip64 end of central directory record if a zip64
// locator precedes the end record at endOff.
func readEnd64(r io.ReaderAt, endOff uint64) (rec []byte, ok bool, err error) {
	if endOff < locator64Len+end64Len {
		return nil, false, nil
	}
	buf := make([]byte, end64Len+locator64Len)
	if err := readAt(r, buf, int64(endOff)-int64(len(buf))); err != nil {
		return nil, false, err
	}
	rec, loc := buf[:end64Len], buf[end64Len:]
	if le32At(loc, 0) != sigLocator64 {
		return nil, false, nil
	}
	if le32At(loc, 4) != 0 || le32At(loc, 16) != 1 {
		return nil, false, corrupt("", "multi-disk archives are not supported")
	}
	// The record must sit right before its locator, without the
	// "extensible data" the format allows: nothing hides there.
	if le64At(loc, 8) != endOff-locator64Len-end64Len || le32At(rec, 0) != sigEnd64 || le64At(rec, 4) != end64Len-12 {
		return nil, false, corrupt("", "zip64 end record is not where its locator says")
	}
	return rec, true, nil
}

func parseCentral(b []byte) (zipFile, []byte, error) {
	if len(b) < centralLen || le32At(b, 0) != sigCentral {
		return zipFile{}, nil, corrupt("", "bad central directory record")
	}
	f := zipFile{
		flags:  le16At(b, 8),
		method: le16At(b, 10),
		crc:    le32At(b, 16),
		csize:  uint64(le32At(b, 20)),
		usize:  uint64(le32At(b, 24)),
		offset: uint64(le32At(b, 42)),
	}
	if c := le16At(b, 4) >> 8; c == creatorUnix || c == creatorMacOS {
		f.mode = le32At(b, 38) >> 16
	}
	n, m, k := int(le16At(b, 28)), int(le16At(b, 30)), int(le16At(b, 32))
	diskStart := le16At(b, 34)
	if len(b) < centralLen+n+m+k {
		return zipFile{}, nil, corrupt("", "central directory record runs past the directory")
	}
	f.name = string(b[centralLen : centralLen+n])
	extra := b[centralLen+n : centralLen+n+m]
	needU, needC, needO := f.usize == max32, f.csize == max32, f.offset == max32
	for len(extra) >= 4 {
		id, sz := le16At(extra, 0), int(le16At(extra, 2))
		if sz > len(extra)-4 {
			return zipFile{}, nil, corrupt(f.name, "malformed extra field")
		}
		field := extra[4 : 4+sz]
		extra = extra[4+sz:]
		if id != extraZip64 {
			continue
		}
		for _, need := range []struct {
			need *bool
			v    *uint64
		}{{&needU, &f.usize}, {&needC, &f.csize}, {&needO, &f.offset}} {
			if !*need.need {
				continue
			}
			if len(field) < 8 {
				return zipFile{}, nil, corrupt(f.name, "zip64 extra field too short")
			}
			*need.v, field, *need.need = binary.LittleEndian.Uint64(field), field[8:], false
		}
	}
	if needU || needC || needO {
		return zipFile{}, nil, corrupt(f.name, "zip64 extra field missing")
	}
	if diskStart != 0 && diskStart != max16 {
		return zipFile{}, nil, corrupt(f.name, "multi-disk archives are not supported")
	}
	return f, b[centralLen+n+m+k:], nil
}

// checkLayout checks what the central directory alone can tell: methods,
// encryption, stored sizes, and that every entry's local header and data
// fit in front of the next entry and the directory.
func (z *zipReader) checkLayout() error {
	for i := range z.files {
		f := &z.files[i]
		if f.flags&(flagEncrypted|flagStrongEnc) != 0 {
			return corrupt(f.name, "encrypted entries are not supported")
		}
		switch f.method {
		case methodStore:
			if f.csize != f.usize {
				return corrupt(f.name, "stored entry with different compressed and uncompressed sizes")
			}
		case methodDeflate:
		default:
			return corrupt(f.name, "compression method "+strconv.Itoa(int(f.method))+" is not supported")
		}
	}
	order := make([]*zipFile, len(z.files))
	for i := range z.files {
		order[i] = &z.files[i]
	}
	slices.SortFunc(order, func(a, b *zipFile) int {
		switch {
		case a.offset < b.offset:
			return -1
		case a.offset > b.offset:
			return 1
		}
		return 0
	})
	for i, f := range order {
		f.limit = z.dirStart
		if i+1 < len(order) {
			f.limit = order[i+1].offset
		}
		// The minimum an entry takes: local header and name (the local
		// extra field's length is known only from the local header),
		// data, and a data descriptor of at least 12 bytes if flagged.
		need := uint64(localLen + len(f.name))
		if f.flags&flagDataDesc != 0 {
			need += 12
		}
		if f.offset > f.limit || f.csize > f.limit-f.offset || need > f.limit-f.offset-f.csize {
			return corrupt(f.name, "entry overlaps the next one or the central directory")
		}
	}
	return nil
}

// open returns a reader of f's uncompressed content. It reads the local
// header first and checks that it agrees with the central directory. The
// reader fails with ErrSizeMismatch if the content is longer or shorter
// than the directory says (checked as it is read, so a lying size never
// lets more through), and with ErrCorruptZip for a CRC-32 mismatch or a
// broken deflate stream. chunk is the size of the reads from r.
func (z *zipReader) open(f *zipFile, chunk int) (io.ReadCloser, error) {
	start, err := z.dataOffset(f)
	if err != nil {
		return nil, err
	}
	sr := io.NewSectionReader(readerAtErr{z.r}, start, int64(f.csize))
	// A small entry needs no chunk-sized buffer.
	if f.csize < uint64(chunk) {
		chunk = max(int(f.csize), 512)
	}
	br := bufio.NewReaderSize(sr, chunk)
	er := &entryReader{f: f, crc: crc32.NewIEEE(), src: br}
	if f.method == methodDeflate {
		er.inflater = flate.NewReader(br)
		er.src = er.inflater
	}
	return er, nil
}

// dataOffset reads f's local header, checks that it agrees with the
// central directory, and returns where f's (compressed) content starts;
// it ends csize bytes later, before the next entry.
func (z *zipReader) dataOffset(f *zipFile) (int64, error) {
	h := make([]byte, localLen+len(f.name))
	if err := readAt(z.r, h, int64(f.offset)); err != nil {
		return 0, err
	}
	if le32At(h, 0) != sigLocal {
		return 0, corrupt(f.name, "no local header where the directory says")
	}
	flags, method, crc := le16At(h, 6), le16At(h, 8), le32At(h, 14)
	if int(le16At(h, 26)) != len(f.name) || !bytes.Equal(h[localLen:], []byte(f.name)) {
		return 0, corrupt(f.name, "local header names another file")
	}
	if method != f.method || flags&(flagEncrypted|flagStrongEnc) != 0 {
		return 0, corrupt(f.name, "local header disagrees with the central directory")
	}
	if flags&flagDataDesc == 0 && crc != f.crc {
		return 0, corrupt(f.name, "local header disagrees with the central directory")
	}
	start := f.offset + localLen + uint64(len(f.name)) + uint64(le16At(h, 28))
	if start > f.limit || f.csize > f.limit-start {
		return 0, corrupt(f.name, "entry overlaps the next one or the central directory")
	}
	return int64(start), nil
}

// yield lets other goroutines run between chunks. Under js/wasm a
// goroutine runs until it blocks, and if the caller's reader or writer
// never blocks (data already in memory), the runtime's background sweeper
// never runs either and freed memory is not reused: a test that read
// 66000 entries grew the heap to 4 GiB without this. Elsewhere it costs
// nothing measurable.
func yield() { runtime.Gosched() }

// readerAtErr marks errors of the underlying ReaderAt as *ioError, so that
// they can be told apart from a deflate stream that is merely broken.
type readerAtErr struct{ r io.ReaderAt }

func (r readerAtErr) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		err = &ioError{err}
	}
	return n, err
}

type entryReader struct {
	f        *zipFile
	src      io.Reader
	inflater io.ReadCloser
	crc      hash.Hash32
	n        uint64
	err      error
}

func (e *entryReader) Read(p []byte) (int, error) {
	yield()
	if e.err != nil {
		return 0, e.err
	}
	// Ask for at most one byte more than may come, to notice content that
	// runs past its declared size without passing any of it on.
	if left := e.f.usize - e.n; uint64(len(p)) > left+1 {
		p = p[:left+1]
	}
	n, err := e.src.Read(p)
	if e.n+uint64(n) > e.f.usize {
		e.err = bad(ErrSizeMismatch, e.f.name, "content is longer than the "+strconv.FormatUint(e.f.usize, 10)+" bytes declared")
		return 0, e.err
	}
	e.n += uint64(n)
	e.crc.Write(p[:n])
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		if e.n != e.f.usize {
			e.err = bad(ErrSizeMismatch, e.f.name, fmt.Sprintf("content is %d bytes, %d declared", e.n, e.f.usize))
		} else if e.crc.Sum32() != e.f.crc {
			e.err = corrupt(e.f.name, "CRC-32 mismatch")
		} else {
			e.err = io.EOF
		}
	default:
		var ioe *ioError
		if errors.As(err, &ioe) {
			e.err = ioe
		} else {
			e.err = &PackageError{Problem: ErrCorruptZip, Entry: e.f.name, Detail: "broken deflate stream", Err: err}
		}
	}
	if e.err == io.EOF {
		return n, io.EOF
	}
	return n, e.err
}

func (e *entryReader) Close() error {
	if e.inflater != nil {
		return e.inflater.Close()
	}
	return nil
}

func le16At(b []byte, i int) uint16 { return binary.LittleEndian.Uint16(b[i:]) }
func le32At(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[i:]) }
func le64At(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }
