package golden

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite golden files in testdata instead of comparing with them")

// Rewriting reports whether the test binary runs with -rewrite.
func Rewriting() bool { return *rewrite }

// Entry is one named value of a golden file.
type Entry struct{ Name, Value string }

// Text compares got with the contents of the file at path, reporting the differing lines; with
// -rewrite it writes got to path instead.
func Text(t testing.TB, path, got string) {
	t.Helper()
	if *rewrite {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden: %v (run the test with -rewrite to create it)", err)
	}
	if string(want) != got {
		t.Errorf("golden: %s differs (run with -rewrite only if the change is deliberate):\n%s", path, diff(string(want), got))
	}
}

func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n  want %s\n  got  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// Entries compares named values with the file at path, whose lines are "value  name" (two
// spaces; lines starting with # are comments). Every entry of got must be in the file with the
// same value; entries of the file that got lacks are not checked (a test may compute only some,
// e.g. when an optional dataset is not installed). With -rewrite it writes header (comment
// lines, may be empty) and got to path instead.
func Entries(t testing.TB, path, header string, got []Entry) {
	t.Helper()
	if *rewrite {
		var b strings.Builder
		for _, l := range strings.Split(strings.TrimSpace(header), "\n") {
			if l != "" {
				b.WriteString("# " + l + "\n")
			}
		}
		for _, e := range got {
			b.WriteString(e.Value + "  " + e.Name + "\n")
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("golden: %v (run the test with -rewrite to create it)", err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("golden: %s:%d: malformed line %q, want \"value  name\"", path, n, line)
		}
		want[name] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, e := range got {
		w, ok := want[e.Name]
		switch {
		case !ok:
			t.Errorf("golden: %s has no entry %q (run with -rewrite to add it)", path, e.Name)
		case w != e.Value:
			t.Errorf("golden: %s: %s\n  got  %s\n  want %s", path, e.Name, e.Value, w)
		}
	}
}
