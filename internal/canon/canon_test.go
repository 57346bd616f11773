package canon

import (
	"errors"
	"strings"
	"testing"
)

var errBad = errors.New("x: malformed")

func TestReader(t *testing.T) {
	b := []byte{1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 1}
	r := NewReader(b, errBad)
	if r.U8() != 1 || r.U16() != 2 || r.U32() != 3 || r.U64() != 4 || !r.Bool() {
		t.Fatal("values")
	}
	r.End()
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	r = NewReader([]byte{2}, errBad)
	if r.Bool() || !errors.Is(r.Err, errBad) || !strings.Contains(r.Err.Error(), "boolean 2") {
		t.Fatalf("bool: %v", r.Err)
	}
	r = NewReader([]byte{1, 2, 3}, errBad)
	if r.U32() != 0 || !strings.Contains(r.Err.Error(), "truncated: need 4 bytes, have 3") {
		t.Fatalf("truncated: %v", r.Err)
	}
	if r.U8() != 0 || len(r.B) != 3 {
		t.Fatal("a failed reader consumed input")
	}
	r = NewReader(make([]byte, 33), errBad)
	if a := r.Amount(); !a.IsZero() {
		t.Fatal("amount")
	}
	r.End()
	if r.Err == nil || !strings.Contains(r.Err.Error(), "1 trailing bytes") {
		t.Fatalf("end: %v", r.Err)
	}
	if NewReader(nil, errBad).Take(-1) != nil {
		t.Fatal("negative take")
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b, errBad)
		for r.Err == nil && len(r.B) > 0 {
			switch r.U8() % 6 {
			case 0:
				r.U16()
			case 1:
				r.U32()
			case 2:
				r.U64()
			case 3:
				r.Addr()
			case 4:
				r.Amount()
			case 5:
				r.Bool()
			}
		}
		if r.Err != nil && !errors.Is(r.Err, errBad) {
			t.Fatal(r.Err)
		}
	})
}
