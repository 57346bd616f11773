package dataset

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// tinySet returns a valid set of n 2x3 images with pixel values i/100 and
// labels i%3.
func tinySet(n int) *Set {
	s := &Set{N: n, Rows: 2, Cols: 3, Classes: 3, Images: make([]float32, n*6), Labels: make([]int32, n)}
	for i := range s.Images {
		s.Images[i] = float32(i) / 100
	}
	for i := range s.Labels {
		s.Labels[i] = int32(i % 3)
	}
	return s
}

func TestFromIDX(t *testing.T) {
	images := &IDX{Type: TypeUbyte, Dims: []int{2, 1, 3}, Data: []byte{0, 1, 254, 255, 128, 51}}
	labels := &IDX{Type: TypeUbyte, Dims: []int{2}, Data: []byte{4, 0}}
	s, err := FromIDX(images, labels, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, float32(1) / 255, float32(254) / 255, 1, float32(128) / 255, 0.2}
	for i, w := range want {
		if s.Images[i] != w {
			t.Errorf("pixel %d = %v, want %v", i, s.Images[i], w)
		}
	}
	if math.Float32bits(s.Images[1]) != 0x3b808081 { // 1/255 rounded to nearest float32
		t.Errorf("1/255 has bits %#x", math.Float32bits(s.Images[1]))
	}
	if s.N != 2 || s.Rows != 1 || s.Cols != 3 || s.Classes != 5 || s.Labels[0] != 4 || s.Labels[1] != 0 {
		t.Errorf("set %+v", s)
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}

	bad := []struct {
		name           string
		images, labels *IDX
		classes        int
		msg            string
	}{
		{"2-d images", &IDX{Dims: []int{2, 3}, Data: make([]byte, 6)}, labels, 5, "want 3"},
		{"2-d labels", images, &IDX{Dims: []int{2, 1}, Data: make([]byte, 2)}, 5, "want 1"},
		{"count mismatch", images, &IDX{Dims: []int{3}, Data: make([]byte, 3)}, 5, "2 images but 3 labels"},
		{"data length", &IDX{Dims: []int{2, 1, 3}, Data: make([]byte, 5)}, labels, 5, "do not match"},
		{"label too large", images, labels, 4, "label 4 of sample 0 is not below 4 classes"},
		{"no classes", images, labels, 0, "0 classes"},
		{"too many classes", images, labels, 257, "257 classes"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromIDX(tt.images, tt.labels, tt.classes)
			if !errors.Is(err, ErrInvalidSet) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want ErrInvalidSet mentioning %q", err, tt.msg)
			}
		})
	}
}

func TestSample(t *testing.T) {
	s := tinySet(4)
	img, label := s.Sample(2)
	if len(img) != 6 || cap(img) != 6 || img[0] != float32(12)/100 || label != 2 {
		t.Fatalf("Sample(2) = %v (cap %d), %d", img, cap(img), label)
	}
	for _, i := range []int{-1, 4} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Sample(%d) did not panic", i)
				}
			}()
			s.Sample(i)
		}()
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *Set)
		msgs   []string // every one must appear
	}{
		{"ok", func(*Set) {}, nil},
		{"empty ok", func(s *Set) { s.N, s.Images, s.Labels = 0, nil, nil }, nil},
		{"negative N", func(s *Set) { s.N = -1 }, []string{"N is -1", "4 labels, want N = -1"}},
		{"zero rows", func(s *Set) { s.Rows = 0 }, []string{"image shape 0x3"}},
		{"no classes", func(s *Set) { s.Classes = 0 }, []string{"0 classes"}},
		{"short images", func(s *Set) { s.Images = s.Images[:23] }, []string{"23 image values, want N×Rows×Cols = 4×2×3"}},
		{"shape and labels together", func(s *Set) { s.Cols = 4; s.Labels = s.Labels[:1] }, []string{"24 image values", "1 labels, want N = 4"}},
		{"huge shape", func(s *Set) { s.Rows, s.Cols, s.N = math.MaxInt32, math.MaxInt32, math.MaxInt32 }, []string{"image values"}},
		{"negative label", func(s *Set) { s.Labels[3] = -1 }, []string{"label -1 of sample 3 is outside [0, 3)"}},
		{"label = classes", func(s *Set) { s.Labels[1] = 3 }, []string{"label 3 of sample 1"}},
		{"NaN", func(s *Set) { s.Images[13] = float32(math.NaN()) }, []string{"value NaN at index 13 (sample 2, pixel 1) is not finite"}},
		{"+Inf", func(s *Set) { s.Images[0] = float32(math.Inf(1)) }, []string{"value +Inf at index 0"}},
		{"-Inf", func(s *Set) { s.Images[23] = float32(math.Inf(-1)) }, []string{"value -Inf at index 23 (sample 3, pixel 5)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tinySet(4)
			tt.mutate(s)
			err := s.Validate()
			if tt.msgs == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidSet) {
				t.Fatalf("err = %v, want ErrInvalidSet", err)
			}
			for _, m := range tt.msgs {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestSubset(t *testing.T) {
	s := tinySet(5)
	sub, err := s.Subset([]int32{4, 0, 4})
	if err != nil {
		t.Fatal(err)
	}
	if sub.N != 3 || sub.Rows != 2 || sub.Cols != 3 || sub.Classes != 3 {
		t.Fatalf("subset shape %+v", sub)
	}
	for k, i := range []int{4, 0, 4} {
		a, la := sub.Sample(k)
		b, lb := s.Sample(i)
		if la != lb || !equalF32(a, b) {
			t.Errorf("subset sample %d != sample %d", k, i)
		}
	}
	sub.Images[0] = 99
	if s.Images[24] == 99 {
		t.Error("Subset aliases the original images")
	}
	if err := sub.Validate(); err != nil {
		t.Error(err)
	}
	empty, err := s.Subset(nil)
	if err != nil || empty.N != 0 || empty.Validate() != nil {
		t.Errorf("empty subset: %+v, %v", empty, err)
	}
	for _, idx := range [][]int32{{5}, {0, -1}} {
		if _, err := s.Subset(idx); !errors.Is(err, ErrInvalidSet) {
			t.Errorf("Subset(%v): err = %v", idx, err)
		}
	}
	s.Labels = s.Labels[:2]
	if _, err := s.Subset([]int32{0}); !errors.Is(err, ErrInvalidSet) {
		t.Errorf("Subset of an inconsistent set: err = %v", err)
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
