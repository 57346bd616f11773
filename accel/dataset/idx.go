package dataset

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// TypeUbyte is the IDX element type of unsigned bytes, the only type
// [ReadIDX] accepts; (Fashion-)MNIST images and labels use it.
const TypeUbyte = 0x08

// MaxIDXDims is the largest number of dimensions [ReadIDX] accepts.
const MaxIDXDims = 4

// MaxIDXBytes is the largest data section [ReadIDX] accepts, in bytes
// (2^31 - 1, so that it fits an int on 32-bit platforms too).
const MaxIDXBytes = math.MaxInt32

// Errors of [ReadIDX]; each is returned wrapped with the facts.
var (
	ErrBadMagic        = errors.New("dataset: idx: bad magic")
	ErrUnsupportedType = errors.New("dataset: idx: unsupported element type")
	ErrBadDims         = errors.New("dataset: idx: bad dimensions")
	ErrTooLarge        = errors.New("dataset: idx: too large")
	ErrTruncated       = errors.New("dataset: idx: truncated")
	ErrTrailingData    = errors.New("dataset: idx: trailing data")
	ErrCorrupt         = errors.New("dataset: idx: corrupt gzip stream")
)

// IDX is a decoded IDX file: the element type, the dimensions (outermost
// first) and the elements in row-major order.
type IDX struct {
	Type byte
	Dims []int
	Data []byte
}

// typeNames names the IDX element types, for error messages.
var typeNames = map[byte]string{
	0x08: "unsigned byte",
	0x09: "signed byte",
	0x0B: "int16",
	0x0C: "int32",
	0x0D: "float32",
	0x0E: "float64",
}

// ReadIDX decodes an IDX file from r, gzip-compressed (recognised by the
// bytes 1f 8b) or raw. The file must be exactly
//
//	0x00 0x00 type ndims, ndims big-endian uint32 dimensions, the data
//
// with type [TypeUbyte], 1 <= ndims <= [MaxIDXDims], every dimension at
// least 1 and at most [MaxIDXBytes] data bytes in all, and nothing after the
// data. Gzip input must be a single gzip member with a correct checksum and
// length, and nothing after it.
// ReadIDX reads incrementally, never allocating more than twice the data
// actually received, so a lying header cannot make it allocate 2 GiB. Each
// failure wraps one of the package's IDX errors: [ErrBadMagic],
// [ErrUnsupportedType], [ErrBadDims], [ErrTooLarge], [ErrTruncated],
// [ErrTrailingData] or [ErrCorrupt]; errors of r itself are wrapped as they
// are.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var src io.Reader = br
	head, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("dataset: idx: read: %w", err)
	}
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, readErr(err, "gzip header", 10, 0)
		}
		defer zr.Close()
		zr.Multistream(false)
		src = zr
	}

	var hdr [4]byte
	if n, err := io.ReadFull(src, hdr[:]); err != nil {
		return nil, readErr(err, "header", len(hdr), n)
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, fmt.Errorf("%w: first bytes %02x %02x, want 00 00", ErrBadMagic, hdr[0], hdr[1])
	}
	if hdr[2] != TypeUbyte {
		name, ok := typeNames[hdr[2]]
		if !ok {
			name = "unknown"
		}
		return nil, fmt.Errorf("%w: %#02x (%s), only %#02x (unsigned byte) is supported", ErrUnsupportedType, hdr[2], name, TypeUbyte)
	}
	nd := int(hdr[3])
	if nd < 1 || nd > MaxIDXDims {
		return nil, fmt.Errorf("%w: %d dimensions, want 1 to %d", ErrBadDims, nd, MaxIDXDims)
	}
	dimBytes := make([]byte, 4*nd)
	if n, err := io.ReadFull(src, dimBytes); err != nil {
		return nil, readErr(err, "dimension", len(dimBytes), n)
	}
	x := &IDX{Type: hdr[2], Dims: make([]int, nd)}
	total := uint64(1)
	for i := range x.Dims {
		d := binary.BigEndian.Uint32(dimBytes[4*i:])
		if d == 0 {
			return nil, fmt.Errorf("%w: dimension %d is 0", ErrBadDims, i)
		}
		total *= uint64(d) // at most 2^31 * 2^32: no overflow
		if total > MaxIDXBytes {
			return nil, fmt.Errorf("%w: dimensions %v exceed %d bytes", ErrTooLarge, dimsOf(dimBytes), MaxIDXBytes)
		}
		x.Dims[i] = int(d)
	}

	want := int(total)
	data := make([]byte, 0, min(want, 1<<20))
	for len(data) < want {
		if len(data) == cap(data) {
			grown := make([]byte, len(data), min(2*cap(data), want))
			copy(grown, data)
			data = grown
		}
		n, err := io.ReadFull(src, data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err != nil {
			return nil, readErr(err, "data", want, len(data))
		}
	}
	x.Data = data

	// Read past the end: this also makes gzip verify its checksum and length.
	var one [1]byte
	switch n, err := io.ReadFull(src, one[:]); {
	case n > 0:
		return nil, fmt.Errorf("%w: bytes after the %d data bytes", ErrTrailingData, want)
	case err != io.EOF:
		return nil, readErr(err, "end of stream", 0, 0)
	}
	if src != io.Reader(br) {
		if _, err := br.ReadByte(); err == nil {
			return nil, fmt.Errorf("%w: bytes after the gzip stream", ErrTrailingData)
		} else if err != io.EOF {
			return nil, fmt.Errorf("dataset: idx: read: %w", err)
		}
	}
	return x, nil
}

// readErr classifies an error met while reading want bytes of what, of which
// got arrived.
func readErr(err error, what string, want, got int) error {
	var corrupt flate.CorruptInputError
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if what == "end of stream" {
			return fmt.Errorf("%w: gzip stream ends before its trailer", ErrTruncated)
		}
		return fmt.Errorf("%w: want %d %s bytes, got %d", ErrTruncated, want, what, got)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, &corrupt):
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	default:
		return fmt.Errorf("dataset: idx: read: %w", err)
	}
}

func dimsOf(b []byte) []uint32 {
	d := make([]uint32, len(b)/4)
	for i := range d {
		d[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return d
}

// WriteIDX writes x to w as a raw (uncompressed) IDX file, the inverse of
// [ReadIDX]. It rejects x unless ReadIDX would accept the result: type
// [TypeUbyte], 1 to [MaxIDXDims] dimensions of at least 1, and len(x.Data)
// equal to their product.
func WriteIDX(w io.Writer, x *IDX) error {
	if x.Type != TypeUbyte {
		return fmt.Errorf("%w: %#02x, only %#02x (unsigned byte) is supported", ErrUnsupportedType, x.Type, TypeUbyte)
	}
	if len(x.Dims) < 1 || len(x.Dims) > MaxIDXDims {
		return fmt.Errorf("%w: %d dimensions, want 1 to %d", ErrBadDims, len(x.Dims), MaxIDXDims)
	}
	hdr := []byte{0, 0, x.Type, byte(len(x.Dims))}
	total := uint64(1)
	for i, d := range x.Dims {
		if d < 1 || uint64(d) > math.MaxUint32 {
			return fmt.Errorf("%w: dimension %d is %d", ErrBadDims, i, d)
		}
		total *= uint64(d)
		if total > MaxIDXBytes {
			return fmt.Errorf("%w: dimensions %v exceed %d bytes", ErrTooLarge, x.Dims, MaxIDXBytes)
		}
		hdr = binary.BigEndian.AppendUint32(hdr, uint32(d))
	}
	if uint64(len(x.Data)) != total {
		return fmt.Errorf("%w: %d data bytes for dimensions %v, want %d", ErrBadDims, len(x.Data), x.Dims, total)
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("dataset: idx: write: %w", err)
	}
	if _, err := w.Write(x.Data); err != nil {
		return fmt.Errorf("dataset: idx: write: %w", err)
	}
	return nil
}
