package pack

import (
	"bufio"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"time"
)

// The zip container is written here rather than with
// github.com/klauspost/compress/zip's Writer for one reason: an entry must
// be abandonable. When the original of a url asset fails half way (a
// timeout, a dropped connection, the size limit), Export keeps going and
// leaves the asset a url ref, so the half-written entry must stay out of
// the central directory; zip.Writer records every entry it starts. The
// bytes already streamed stay behind as unreferenced space, which zip
// readers skip. Compression is the standard library's compress/flate.

// Signatures and fixed sizes from PKWARE's APPNOTE.TXT.
const (
	sigLocal     = 0x04034b50
	sigCentral   = 0x02014b50
	sigEnd       = 0x06054b50
	sigEnd64     = 0x06064b50
	sigLocator64 = 0x07064b50
	sigDataDesc  = 0x08074b50

	localLen     = 30
	centralLen   = 46
	endLen       = 22
	end64Len     = 56
	locator64Len = 20

	methodStore   = 0
	methodDeflate = 8

	flagEncrypted  = 0x0001
	flagDataDesc   = 0x0008
	flagStrongEnc  = 0x0040
	flagUTF8       = 0x0800
	extraZip64     = 0x0001
	max16          = 0xffff
	max32          = 0xffffffff
	versionDefault = 20 // 2.0: deflate, data descriptor
	versionZip64   = 45 // 4.5: zip64
	madeByUnix     = 3 << 8
	// modeFile is the Unix mode of an extracted file, rw-r--r--.
	modeFile = 0o100644 << 16
)

// deflateLevel is for JSON and other text; media is stored anyway. The
// standard library's fastest level: on 2.7 MB of workflow JSON it deflates
// at 119 MB/s to 300 KB on the host, where level 5 takes 42 MB/s for 250 KB
// (klauspost/compress's level 5, which this package used before, 177 MB/s
// for 251 KB, but 229 KB of code in the browser's module).
const deflateLevel = flate.BestSpeed

type zipEntry struct {
	name   string
	method uint16
	crc    uint32
	csize  uint64
	usize  uint64
	offset uint64
}

// zipWriter streams a zip archive. Every entry has a data descriptor, so
// nothing is written twice and the output need not be seekable.
type zipWriter struct {
	cw      countWriter
	bw      *bufio.Writer
	dir     []zipEntry
	dosTime uint16
	dosDate uint16
	fw      *flate.Writer // reused for every deflated entry
	cur     *entryWriter
	pw      PartWriter // the output, if it takes parts
	// zip64 forces zip64 records even for small archives, so that tests
	// can check what large archives look like.
	zip64 bool
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newZipWriter(w io.Writer, modified time.Time) *zipWriter {
	z := &zipWriter{cw: countWriter{w: w}}
	z.pw, _ = w.(PartWriter)
	// Small writes (headers, deflate output) are gathered; writes of a
	// whole buffer's size pass straight through.
	z.bw = bufio.NewWriterSize(&z.cw, 64<<10)
	z.dosDate, z.dosTime = dosDateTime(modified)
	return z
}

// dosDateTime converts t to MS-DOS date and time in UTC, clamped to the
// range the format can hold.
func dosDateTime(t time.Time) (date, tm uint16) {
	t = t.UTC()
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	} else if t.Year() > 2107 {
		t = time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC)
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tm = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, tm
}

// offset returns the number of bytes written so far, buffered ones
// included.
func (z *zipWriter) offset() int64 { return z.cw.n + int64(z.bw.Buffered()) }

// create starts an entry. The previous one must have been closed or
// aborted.
func (z *zipWriter) create(name string, deflate bool) (*entryWriter, error) {
	if z.cur != nil {
		return nil, errors.New("pack: zip entry still open")
	}
	e := &entryWriter{z: z, crc: crc32.NewIEEE()}
	e.entry = zipEntry{name: name, method: methodStore, offset: uint64(z.offset())}
	if deflate {
		e.entry.method = methodDeflate
	}
	var h [localLen]byte
	b := h[:0]
	b = le32(b, sigLocal)
	b = le16(b, versionDefault)
	b = le16(b, flagsFor(name))
	b = le16(b, e.entry.method)
	b = le16(b, z.dosTime)
	b = le16(b, z.dosDate)
	b = le32(b, 0) // CRC-32, sizes: in the data descriptor
	b = le32(b, 0)
	b = le32(b, 0)
	b = le16(b, uint16(len(name)))
	b = le16(b, 0) // extra
	if _, err := z.bw.Write(b); err != nil {
		return nil, err
	}
	if _, err := z.bw.WriteString(name); err != nil {
		return nil, err
	}
	e.out = countWriter{w: z.bw}
	e.dst = &e.out
	if deflate {
		if z.fw == nil {
			fw, err := flate.NewWriter(&e.out, deflateLevel)
			if err != nil {
				return nil, err
			}
			z.fw = fw
		} else {
			z.fw.Reset(&e.out)
		}
		e.dst = z.fw
	}
	z.cur = e
	return e, nil
}

func flagsFor(name string) uint16 {
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			return flagDataDesc | flagUTF8
		}
	}
	return flagDataDesc
}

// entryWriter receives the content of one entry.
type entryWriter struct {
	z     *zipWriter
	entry zipEntry
	crc   hash.Hash32
	usize uint64
	out   countWriter // counts the compressed bytes
	dst   io.Writer   // the compressor, or out itself for stored entries
	done  bool
	// part is set when the content was a Part, whose CRC-32 partCRC
	// was computed elsewhere.
	part    bool
	partCRC uint32
}

func (e *entryWriter) Write(p []byte) (int, error) {
	if e.done || e.part {
		return 0, errors.New("pack: write to a closed zip entry")
	}
	n, err := e.dst.Write(p)
	e.crc.Write(p[:n])
	e.usize += uint64(n)
	return n, err
}

// writePart makes p, whose CRC-32 is crc, the whole content of a stored
// entry: what the archive holds so far is flushed, and p is appended to
// the output after it as it is, its bytes never passing through here.
func (e *entryWriter) writePart(ctx context.Context, p Part, crc uint32) error {
	z := e.z
	switch {
	case e.done || e.part:
		return errors.New("pack: write to a closed zip entry")
	case z.pw == nil || e.entry.method != methodStore || e.usize != 0:
		return errors.New("pack: a part must be the whole content of a stored entry")
	}
	if err := z.bw.Flush(); err != nil {
		return err
	}
	if err := z.pw.WritePart(ctx, p); err != nil {
		return err
	}
	n := p.Size()
	z.cw.n += n
	e.out.n += n
	e.usize = uint64(n)
	e.part, e.partCRC = true, crc
	return nil
}

// close finishes the entry and records it in the central directory.
func (e *entryWriter) close() error {
	if e.done {
		return errors.New("pack: zip entry closed twice")
	}
	e.done = true
	e.z.cur = nil
	if e.entry.method == methodDeflate {
		if err := e.z.fw.Close(); err != nil {
			return err
		}
	}
	e.entry.crc = e.crc.Sum32()
	if e.part {
		e.entry.crc = e.partCRC
	}
	e.entry.usize = e.usize
	e.entry.csize = uint64(e.out.n)
	// Like Go's archive/zip, sizes of 4 GiB and more go into an 8-byte
	// descriptor without a zip64 extra in the local header, which was
	// written before the sizes were known.
	zip64 := e.entry.usize >= max32 || e.entry.csize >= max32
	b := make([]byte, 0, 24)
	b = le32(b, sigDataDesc)
	b = le32(b, e.entry.crc)
	if zip64 {
		b = le64(b, e.entry.csize)
		b = le64(b, e.entry.usize)
	} else {
		b = le32(b, uint32(e.entry.csize))
		b = le32(b, uint32(e.entry.usize))
	}
	if _, err := e.z.bw.Write(b); err != nil {
		return err
	}
	e.z.dir = append(e.z.dir, e.entry)
	return nil
}

// abort gives up on the entry: what was written of it stays in the output
// as unreferenced bytes, and it does not appear in the central directory.
func (e *entryWriter) abort() {
	if e.done {
		return
	}
	e.done = true
	e.z.cur = nil
	if e.entry.method == methodDeflate {
		// Drop what the compressor holds; Reset before the next use
		// starts it afresh.
		e.z.fw.Reset(io.Discard)
	}
}

// finish writes the central directory and the end records and flushes.
// It does not close the underlying writer.
func (z *zipWriter) finish() error {
	if z.cur != nil {
		return errors.New("pack: zip entry still open")
	}
	start := uint64(z.offset())
	for _, e := range z.dir {
		zip64 := z.zip64 || e.usize >= max32 || e.csize >= max32 || e.offset >= max32
		var extra []byte
		usize, csize, off := uint32(e.usize), uint32(e.csize), uint32(e.offset)
		version := uint16(versionDefault)
		if zip64 {
			version = versionZip64
			// Only the fields whose header value is 0xffffffff appear
			// in the zip64 extra, in this order.
			var fields []uint64
			if z.zip64 || e.usize >= max32 {
				usize = max32
				fields = append(fields, e.usize)
			}
			if z.zip64 || e.csize >= max32 {
				csize = max32
				fields = append(fields, e.csize)
			}
			if z.zip64 || e.offset >= max32 {
				off = max32
				fields = append(fields, e.offset)
			}
			extra = le16(extra, extraZip64)
			extra = le16(extra, uint16(8*len(fields)))
			for _, f := range fields {
				extra = le64(extra, f)
			}
		}
		b := make([]byte, 0, centralLen+len(e.name)+len(extra))
		b = le32(b, sigCentral)
		b = le16(b, madeByUnix|version)
		b = le16(b, version)
		b = le16(b, flagsFor(e.name))
		b = le16(b, e.method)
		b = le16(b, z.dosTime)
		b = le16(b, z.dosDate)
		b = le32(b, e.crc)
		b = le32(b, csize)
		b = le32(b, usize)
		b = le16(b, uint16(len(e.name)))
		b = le16(b, uint16(len(extra)))
		b = le16(b, 0) // comment
		b = le16(b, 0) // disk number start
		b = le16(b, 0) // internal attributes
		b = le32(b, modeFile)
		b = le32(b, off)
		b = append(b, e.name...)
		b = append(b, extra...)
		if _, err := z.bw.Write(b); err != nil {
			return err
		}
	}
	end := uint64(z.offset())
	size := end - start
	count := uint64(len(z.dir))
	b := make([]byte, 0, end64Len+locator64Len+endLen)
	if z.zip64 || count >= max16 || size >= max32 || start >= max32 {
		b = le32(b, sigEnd64)
		b = le64(b, end64Len-12) // size of the rest of the record
		b = le16(b, madeByUnix|versionZip64)
		b = le16(b, versionZip64)
		b = le32(b, 0) // this disk
		b = le32(b, 0) // disk of the central directory
		b = le64(b, count)
		b = le64(b, count)
		b = le64(b, size)
		b = le64(b, start)
		b = le32(b, sigLocator64)
		b = le32(b, 0)   // disk of the zip64 end record
		b = le64(b, end) // its offset
		b = le32(b, 1)   // number of disks
		count, size, start = max16, max32, max32
	}
	b = le32(b, sigEnd)
	b = le16(b, 0)
	b = le16(b, 0)
	b = le16(b, uint16(min(count, max16)))
	b = le16(b, uint16(min(count, max16)))
	b = le32(b, uint32(min(size, max32)))
	b = le32(b, uint32(min(start, max32)))
	b = le16(b, 0) // comment
	if _, err := z.bw.Write(b); err != nil {
		return err
	}
	return z.bw.Flush()
}

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func le64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }
