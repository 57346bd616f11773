package aggregate

import (
	"errors"
	"strings"
	"testing"
)

func TestParseBluebirdsErrors(t *testing.T) {
	const gt = "{1: true, 2: false}\n"
	for _, tc := range []struct {
		name, labels, gt, want string
	}{
		{"ok", "a: {1: true,\n  2: false}\nb: {1: false}\n", gt, ""},
		{"empty map", "a: {}\n", "{}", ""},
		{"missing colon", "a {1: true}\n", gt, "labels.yaml:1:3: unexpected '{', want ':'"},
		{"missing brace", "a: 1: true}\n", gt, "labels.yaml:1:4: unexpected '1', want '{'"},
		{"unclosed", "a: {1: true,\n  2: false\n", gt, "unexpected end of input, want ',' or '}'"},
		{"trailing comma", "a: {1: true,}\n", gt, "unexpected '}', want a scalar"},
		{"indented key", " a: {1: true}\n", gt, "labels.yaml:1:2: top-level key not at column 1"},
		{"duplicate worker", "a: {1: true}\na: {2: true}\n", gt, "worker \"a\" appears twice"},
		{"duplicate item", "a: {1: true, 1: false}\n", gt, "key \"1\" appears twice"},
		{"bad class", "a: {1: yes}\n", gt, "class \"yes\" not among"},
		{"comment", "# hi\na: {1: true}\n", gt, "unexpected '#', want a scalar"},
		{"quoted", "a: {\"1\": true}\n", gt, "unexpected '\"', want a scalar"},
		{"gt trailing", "a: {1: true}\n", gt + "x", "gt.yaml:2:1: trailing content"},
		{"gt duplicate", "a: {1: true}\n", "{1: true, 1: true}", "key \"1\" appears twice"},
		{"gt bad class", "a: {1: true}\n", "{1: maybe}", "class \"maybe\" not among"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseBluebirds(strings.NewReader(tc.labels), strings.NewReader(tc.gt))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Validate(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrMalformed containing %q", err, tc.want)
			}
		})
	}
}

func TestParseTSVErrors(t *testing.T) {
	const cats = "A\nB\n"
	for _, tc := range []struct {
		name, labels, gold, cats, want string
	}{
		{"ok", "w1\ti1\tA\nw2\ti1\tB\n\n", "i1\tB\ni9\tA\n", cats, ""},
		{"crlf", "w1\ti1\tA\r\n", "i1\tB\r\n", "A\r\nB\r\n", ""},
		{"two fields", "w1\ti1\n", "", cats, "labels line 1: 2 fields, want 3"},
		{"empty field", "w1\t\tA\n", "", cats, "labels line 1: empty field"},
		{"unknown class", "w1\ti1\tC\n", "", cats, "class \"C\" not among"},
		{"gold fields", "w1\ti1\tA\n", "i1\n", cats, "gold line 1: 1 fields, want 2"},
		{"gold class", "w1\ti1\tA\n", "i1\tZ\n", cats, "gold 1: class \"Z\""},
		{"gold twice", "w1\ti1\tA\n", "i1\tA\ni1\tB\n", cats, "item \"i1\" listed twice"},
		{"no categories", "w1\ti1\tA\n", "", "", "no categories"},
		{"category twice", "w1\ti1\tA\n", "", "A\nA\n", "class \"A\" listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseTSV(strings.NewReader(tc.labels), strings.NewReader(tc.gold), strings.NewReader(tc.cats))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Gold[0] != 1 || c.GoldUnlabelled > 1 {
					t.Fatalf("gold %v, %d unlabelled", c.Gold, c.GoldUnlabelled)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrMalformed containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParseBluebirds(f *testing.F) {
	f.Add([]byte("a: {1: true,\n  2: false}\nb: {1: false}\n"), []byte("{1: true, 2: false}"))
	f.Add([]byte("a: {}"), []byte("{}"))
	f.Add([]byte("a: {1: true"), []byte("{1"))
	f.Fuzz(func(t *testing.T, labels, gt []byte) {
		c, err := ParseBluebirds(strings.NewReader(string(labels)), strings.NewReader(string(gt)))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed corpus invalid: %v", err)
		}
		if _, err := MajorityVote(&c.Dataset); err != nil {
			t.Fatal(err)
		}
	})
}

func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    Dataset
	}{
		{"no classes", Dataset{Workers: 1, Items: 1}},
		{"worker", Dataset{Workers: 1, Items: 1, Classes: 2, Labels: []Label{{1, 0, 0}}}},
		{"item", Dataset{Workers: 1, Items: 1, Classes: 2, Labels: []Label{{0, -1, 0}}}},
		{"class", Dataset{Workers: 1, Items: 1, Classes: 2, Labels: []Label{{0, 0, 2}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range methods {
				if _, err := m.run(&tc.d); !errors.Is(err, ErrInvalidDataset) {
					t.Errorf("%s: error %v, want ErrInvalidDataset", m.name, err)
				}
			}
		})
	}
	err := Config{MaxIterations: -1, Tolerance: 2, Smoothing: -1}.Validate()
	if !errors.Is(err, ErrInvalidConfig) || strings.Count(err.Error(), "aggregate:") != 3 {
		t.Errorf("Validate: %v, want three ErrInvalidConfig", err)
	}
	d := Dataset{Workers: 1, Items: 1, Classes: 2, Labels: []Label{{0, 0, 1}}}
	if _, err := DawidSkene(&d, Config{Tolerance: -1}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("DawidSkene with a bad config: %v", err)
	}
}

// TestTies pins the tie-breaking rule: the lowest class index wins, and an item nobody
// labelled gets -1.
func TestTies(t *testing.T) {
	d := Dataset{Workers: 4, Items: 3, Classes: 3, Labels: []Label{
		{0, 0, 2}, {1, 0, 1}, // item 0: a tie between 1 and 2
		{2, 1, 2}, {3, 1, 0}, {0, 1, 2}, // item 1: 2 wins
	}}
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			r, err := m.run(&d)
			if err != nil {
				t.Fatal(err)
			}
			if m.name == "MajorityVote" && r.Labels[0] != 1 {
				t.Errorf("tie went to %d, want 1", r.Labels[0])
			}
			if r.Labels[1] != 2 || r.Labels[2] != -1 {
				t.Errorf("labels %v, want [_ 2 -1]", r.Labels)
			}
		})
	}
}
