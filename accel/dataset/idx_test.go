package dataset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

// rawIDX returns an IDX file with the given header fields and data.
func rawIDX(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
	}
	return append(b, data...)
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestReadIDX(t *testing.T) {
	img := rawIDX(TypeUbyte, []uint32{3, 2, 2}, seq(12))
	for _, tt := range []struct {
		name string
		in   []byte
	}{
		{"raw", img},
		{"gzip", gzipBytes(img)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x, err := ReadIDX(bytes.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if x.Type != TypeUbyte || len(x.Dims) != 3 || x.Dims[0] != 3 || x.Dims[1] != 2 || x.Dims[2] != 2 {
				t.Fatalf("header %#x %v", x.Type, x.Dims)
			}
			if !bytes.Equal(x.Data, seq(12)) {
				t.Fatalf("data %v", x.Data)
			}
		})
	}
	// One byte at a time, and a reader that returns data with io.EOF.
	for name, r := range map[string]io.Reader{
		"one byte reads": iotest.OneByteReader(bytes.NewReader(gzipBytes(img))),
		"data with EOF":  iotest.DataErrReader(bytes.NewReader(img)),
	} {
		t.Run(name, func(t *testing.T) {
			x, err := ReadIDX(r)
			if err != nil || !bytes.Equal(x.Data, seq(12)) {
				t.Fatalf("x = %v, err = %v", x, err)
			}
		})
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := rawIDX(TypeUbyte, []uint32{2, 3}, seq(6))
	gz := gzipBytes(good)
	badCRC := append([]byte(nil), gz...)
	badCRC[len(badCRC)-8] ^= 0xff // CRC-32 of the gzip trailer
	badLen := append([]byte(nil), gz...)
	badLen[len(badLen)-4] ^= 0x01 // ISIZE of the gzip trailer
	badDeflate := append([]byte(nil), gzipBytes(rawIDX(TypeUbyte, []uint32{1000}, seq(1000)))...)
	badDeflate[10] = 0xff // a reserved block type (3) in the first deflate header
	tests := []struct {
		name    string
		in      []byte
		want    error
		message string // the full error text, when pinned
	}{
		{"empty", nil, ErrTruncated, "dataset: idx: truncated: want 4 header bytes, got 0"},
		{"short header", []byte{0, 0, 8}, ErrTruncated, "dataset: idx: truncated: want 4 header bytes, got 3"},
		{"bad magic", append([]byte{1}, good[1:]...), ErrBadMagic, "dataset: idx: bad magic: first bytes 01 00, want 00 00"},
		{"text file", []byte("hello, world"), ErrBadMagic, ""},
		{"float type", rawIDX(0x0D, []uint32{1}, seq(4)), ErrUnsupportedType,
			"dataset: idx: unsupported element type: 0x0d (float32), only 0x08 (unsigned byte) is supported"},
		{"signed byte type", rawIDX(0x09, []uint32{1}, seq(1)), ErrUnsupportedType, ""},
		{"unknown type", rawIDX(0x42, []uint32{1}, seq(1)), ErrUnsupportedType, ""},
		{"no dims", rawIDX(TypeUbyte, nil, nil), ErrBadDims, "dataset: idx: bad dimensions: 0 dimensions, want 1 to 4"},
		{"five dims", rawIDX(TypeUbyte, []uint32{1, 1, 1, 1, 1}, seq(1)), ErrBadDims, ""},
		{"zero dim", rawIDX(TypeUbyte, []uint32{5, 0, 3}, nil), ErrBadDims, "dataset: idx: bad dimensions: dimension 1 is 0"},
		{"short dims", rawIDX(TypeUbyte, []uint32{60000, 28, 28}, nil)[:10], ErrTruncated,
			"dataset: idx: truncated: want 12 dimension bytes, got 6"},
		{"absurd dims", rawIDX(TypeUbyte, []uint32{1 << 20, 1 << 20}, nil), ErrTooLarge,
			"dataset: idx: too large: dimensions [1048576 1048576] exceed 2147483647 bytes"},
		{"just over the cap", rawIDX(TypeUbyte, []uint32{1 << 31}, nil), ErrTooLarge, ""},
		{"max dims overflow", rawIDX(TypeUbyte, []uint32{^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0)}, nil), ErrTooLarge, ""},
		{"truncated data", rawIDX(TypeUbyte, []uint32{60000, 28, 28}, seq(1000)), ErrTruncated,
			"dataset: idx: truncated: want 47040000 data bytes, got 1000"},
		{"truncated data gzip", gzipBytes(rawIDX(TypeUbyte, []uint32{60000, 28, 28}, seq(1000))), ErrTruncated,
			"dataset: idx: truncated: want 47040000 data bytes, got 1000"},
		{"trailing garbage", append(append([]byte(nil), good...), 0), ErrTrailingData,
			"dataset: idx: trailing data: bytes after the 6 data bytes"},
		{"trailing garbage in gzip", gzipBytes(append(append([]byte(nil), good...), 1, 2)), ErrTrailingData, ""},
		{"garbage after gzip", append(append([]byte(nil), gz...), 'x'), ErrTrailingData,
			"dataset: idx: trailing data: bytes after the gzip stream"},
		{"second gzip member", append(append([]byte(nil), gz...), gzipBytes([]byte{1})...), ErrTrailingData, ""},
		{"gzip checksum", badCRC, ErrCorrupt, "dataset: idx: corrupt gzip stream: gzip: invalid checksum"},
		{"gzip length", badLen, ErrCorrupt, ""},
		{"gzip deflate data", badDeflate, ErrCorrupt, ""},
		{"gzip bad header", append([]byte{0x1f, 0x8b, 0x07}, make([]byte, 20)...), ErrCorrupt, ""},
		{"gzip header only", gz[:5], ErrTruncated, ""},
		{"gzip cut in data", gz[:len(gz)-12], ErrTruncated, ""},
		{"gzip without trailer", gz[:len(gz)-8], ErrTruncated, "dataset: idx: truncated: gzip stream ends before its trailer"},
		{"gzip magic alone", []byte{0x1f, 0x8b}, ErrTruncated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := ReadIDX(bytes.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadIDX = %v, %v; want error %v", x, err, tt.want)
			}
			if x != nil {
				t.Fatalf("non-nil IDX with error")
			}
			if tt.message != "" && err.Error() != tt.message {
				t.Fatalf("error %q, want %q", err, tt.message)
			}
		})
	}
}

func TestReadIDXReaderError(t *testing.T) {
	boom := errors.New("disk on fire")
	in := rawIDX(TypeUbyte, []uint32{100}, seq(100))
	r := io.MultiReader(bytes.NewReader(in[:50]), iotest.ErrReader(boom))
	_, err := ReadIDX(r)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	for _, s := range []error{ErrTruncated, ErrCorrupt} {
		if errors.Is(err, s) {
			t.Fatalf("reader error classified as %v", s)
		}
	}
}

// TestReadIDXLyingHeader: a 20-byte file claiming 2 GiB of data must not make
// ReadIDX allocate anywhere near that.
func TestReadIDXLyingHeader(t *testing.T) {
	in := rawIDX(TypeUbyte, []uint32{MaxIDXBytes}, seq(8))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadIDX(bytes.NewReader(in))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Fatalf("allocated %d bytes for a 20-byte file", got)
	}
}

func TestWriteIDXRoundTrip(t *testing.T) {
	tests := []*IDX{
		{Type: TypeUbyte, Dims: []int{1}, Data: []byte{9}},
		{Type: TypeUbyte, Dims: []int{5}, Data: seq(5)},
		{Type: TypeUbyte, Dims: []int{4, 3}, Data: seq(12)},
		{Type: TypeUbyte, Dims: []int{2, 28, 28}, Data: seq(2 * 784)},
		{Type: TypeUbyte, Dims: []int{2, 1, 3, 1}, Data: seq(6)},
		{Type: TypeUbyte, Dims: []int{3000, 1000}, Data: seq(3000 * 1000)}, // larger than the first read chunk
	}
	for _, x := range tests {
		t.Run(fmtDims(x.Dims), func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteIDX(&buf, x); err != nil {
				t.Fatal(err)
			}
			for name, in := range map[string][]byte{"raw": buf.Bytes(), "gzip": gzipBytes(buf.Bytes())} {
				y, err := ReadIDX(bytes.NewReader(in))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if y.Type != x.Type || fmtDims(y.Dims) != fmtDims(x.Dims) || !bytes.Equal(y.Data, x.Data) {
					t.Fatalf("%s: round trip changed the file", name)
				}
				if len(y.Data) != cap(y.Data) {
					t.Errorf("%s: data capacity %d for length %d", name, cap(y.Data), len(y.Data))
				}
			}
		})
	}
}

func TestWriteIDXErrors(t *testing.T) {
	tests := []struct {
		name string
		x    *IDX
		want error
	}{
		{"type", &IDX{Type: 0x0D, Dims: []int{1}, Data: seq(4)}, ErrUnsupportedType},
		{"no dims", &IDX{Type: TypeUbyte}, ErrBadDims},
		{"five dims", &IDX{Type: TypeUbyte, Dims: []int{1, 1, 1, 1, 1}, Data: seq(1)}, ErrBadDims},
		{"zero dim", &IDX{Type: TypeUbyte, Dims: []int{0}}, ErrBadDims},
		{"negative dim", &IDX{Type: TypeUbyte, Dims: []int{-1}}, ErrBadDims},
		{"length", &IDX{Type: TypeUbyte, Dims: []int{2, 2}, Data: seq(3)}, ErrBadDims},
		{"too large", &IDX{Type: TypeUbyte, Dims: []int{1 << 16, 1 << 16}}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteIDX(&buf, tt.x); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Fatalf("wrote %d bytes before failing", buf.Len())
			}
		})
	}
	if err := WriteIDX(iotest.TruncateWriter(io.Discard, 0), &IDX{Type: TypeUbyte, Dims: []int{1}, Data: seq(1)}); err != nil {
		t.Fatalf("TruncateWriter: %v", err)
	}
}

func fmtDims(d []int) string { return fmt.Sprint(d) }

// FuzzReadIDX: ReadIDX never panics, its errors wrap a sentinel or not at
// all, and whatever it accepts is consistent and survives WriteIDX.
func FuzzReadIDX(f *testing.F) {
	good := rawIDX(TypeUbyte, []uint32{2, 3}, seq(6))
	f.Add(good)
	f.Add(gzipBytes(good))
	f.Add(rawIDX(TypeUbyte, []uint32{1}, []byte{7}))
	f.Add(rawIDX(TypeUbyte, []uint32{2, 2, 2, 2}, seq(16)))
	f.Add(rawIDX(TypeUbyte, []uint32{60000, 28, 28}, seq(10)))
	f.Add(rawIDX(0x0D, []uint32{1}, seq(4)))
	f.Add(append(append([]byte(nil), good...), 1))
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		x, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			if x != nil {
				t.Fatal("IDX and error both returned")
			}
			return
		}
		n := 1
		for _, d := range x.Dims {
			n *= d
		}
		if n != len(x.Data) || len(x.Dims) < 1 || len(x.Dims) > MaxIDXDims || x.Type != TypeUbyte {
			t.Fatalf("inconsistent IDX: type %#x dims %v data %d", x.Type, x.Dims, len(x.Data))
		}
		var buf bytes.Buffer
		if err := WriteIDX(&buf, x); err != nil {
			t.Fatalf("accepted IDX does not write: %v", err)
		}
		if in[0] != 0x1f && !bytes.Equal(buf.Bytes(), in) {
			t.Fatalf("raw round trip differs")
		}
	})
}
