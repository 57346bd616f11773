package aggregate

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Corpus is a Dataset read from named data, with the names behind its indices and the gold
// classes. Worker and item indices follow the byte order of their names; class indices follow
// the order the format defines; Labels keep the order of the file.
type Corpus struct {
	Dataset
	// WorkerNames, ItemNames and ClassNames name the indices.
	WorkerNames, ItemNames, ClassNames []string
	// Gold holds every item's gold class, or -1 where none is known. Gold entries for items
	// nobody labelled are not part of the corpus; GoldUnlabelled counts them.
	Gold           []int
	GoldUnlabelled int
}

// rawLabel is a label by name, before indexing.
type rawLabel struct{ worker, item, class string }

// newCorpus indexes raw labels; classes fixes the class order.
func newCorpus(raw []rawLabel, gold [][2]string, classes []string) (*Corpus, error) {
	c := &Corpus{ClassNames: slices.Clone(classes)}
	classIdx := map[string]int32{}
	for k, name := range classes {
		if _, dup := classIdx[name]; dup {
			return nil, fmt.Errorf("%w: class %q listed twice", ErrMalformed, name)
		}
		classIdx[name] = int32(k)
	}
	workers, items := map[string]int32{}, map[string]int32{}
	for _, r := range raw {
		workers[r.worker] = 0
		items[r.item] = 0
	}
	index := func(m map[string]int32) []string {
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		slices.Sort(names)
		for n, name := range names {
			m[name] = int32(n)
		}
		return names
	}
	c.WorkerNames, c.ItemNames = index(workers), index(items)
	c.Workers, c.Items, c.Classes = len(c.WorkerNames), len(c.ItemNames), len(classes)
	c.Labels = make([]Label, len(raw))
	for n, r := range raw {
		k, ok := classIdx[r.class]
		if !ok {
			return nil, fmt.Errorf("%w: label %d: class %q not among %q", ErrMalformed, n+1, r.class, classes)
		}
		c.Labels[n] = Label{Worker: workers[r.worker], Item: items[r.item], Class: k}
	}
	c.Gold = make([]int, c.Items)
	for i := range c.Gold {
		c.Gold[i] = -1
	}
	seen := map[string]bool{}
	for n, g := range gold {
		if seen[g[0]] {
			return nil, fmt.Errorf("%w: gold %d: item %q listed twice", ErrMalformed, n+1, g[0])
		}
		seen[g[0]] = true
		k, ok := classIdx[g[1]]
		if !ok {
			return nil, fmt.Errorf("%w: gold %d: class %q not among %q", ErrMalformed, n+1, g[1], classes)
		}
		i, ok := items[g[0]]
		if !ok {
			c.GoldUnlabelled++
			continue
		}
		c.Gold[i] = int(k)
	}
	return c, nil
}

// ParseTSV reads labels in the tab-separated format of Get-Another-Label (AdultContent2):
// labels has lines "worker TAB item TAB class", gold has lines "item TAB class", and
// categories lists the class names, one per line, in index order. Empty lines are skipped;
// anything else that does not fit is an error naming the line.
func ParseTSV(labels, gold, categories io.Reader) (*Corpus, error) {
	var classes []string
	if err := eachLine(categories, "categories", func(line int, f []string) error {
		if len(f) != 1 {
			return fmt.Errorf("categories line %d: %d fields, want 1", line, len(f))
		}
		classes = append(classes, f[0])
		return nil
	}); err != nil {
		return nil, err
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("%w: no categories", ErrMalformed)
	}
	var raw []rawLabel
	if err := eachLine(labels, "labels", func(line int, f []string) error {
		if len(f) != 3 {
			return fmt.Errorf("labels line %d: %d fields, want 3", line, len(f))
		}
		raw = append(raw, rawLabel{f[0], f[1], f[2]})
		return nil
	}); err != nil {
		return nil, err
	}
	var g [][2]string
	if err := eachLine(gold, "gold", func(line int, f []string) error {
		if len(f) != 2 {
			return fmt.Errorf("gold line %d: %d fields, want 2", line, len(f))
		}
		g = append(g, [2]string{f[0], f[1]})
		return nil
	}); err != nil {
		return nil, err
	}
	return newCorpus(raw, g, classes)
}

func eachLine(r io.Reader, what string, fn func(line int, fields []string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if text == "" {
			continue
		}
		fields := strings.Split(text, "\t")
		for _, f := range fields {
			if f == "" {
				return fmt.Errorf("%w: %s line %d: empty field", ErrMalformed, what, line)
			}
		}
		if err := fn(line, fields); err != nil {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
	}
	return nil
}

// ParseBluebirds reads the Bluebirds data set's YAML (Welinder et al. 2010): labels is a
// block mapping "worker: {item: true|false, ...}" whose flow mappings may continue over
// indented lines, and gt is one flow mapping "{item: true|false, ...}". Classes are false
// (0) and true (1). Only this subset of YAML is accepted: plain scalars of
// [A-Za-z0-9_.-], no comments, no duplicate keys; anything else is an error naming the line
// and column.
func ParseBluebirds(labels, gt io.Reader) (*Corpus, error) {
	lb, err := io.ReadAll(labels)
	if err != nil {
		return nil, fmt.Errorf("%w: labels: %w", ErrMalformed, err)
	}
	gb, err := io.ReadAll(gt)
	if err != nil {
		return nil, fmt.Errorf("%w: gt: %w", ErrMalformed, err)
	}
	var raw []rawLabel
	p := &yamlParser{src: lb, what: "labels.yaml"}
	workers := map[string]bool{}
	for {
		p.skipSpace(true)
		if p.pos == len(p.src) {
			break
		}
		if p.col() != 1 {
			return nil, p.errorf("top-level key not at column 1")
		}
		w, err := p.scalar()
		if err != nil {
			return nil, err
		}
		if workers[w] {
			return nil, p.errorf("worker %q appears twice", w)
		}
		workers[w] = true
		p.skipSpace(false)
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		p.skipSpace(false)
		m, err := p.flowMap()
		if err != nil {
			return nil, err
		}
		for _, kv := range m {
			raw = append(raw, rawLabel{w, kv[0], kv[1]})
		}
	}
	g := &yamlParser{src: gb, what: "gt.yaml"}
	g.skipSpace(true)
	gold, err := g.flowMap()
	if err != nil {
		return nil, err
	}
	g.skipSpace(true)
	if g.pos != len(g.src) {
		return nil, g.errorf("trailing content after the mapping")
	}
	return newCorpus(raw, gold, []string{"false", "true"})
}

// yamlParser reads the flow-mapping subset of YAML that Bluebirds uses.
type yamlParser struct {
	src  []byte
	pos  int
	what string
}

func (p *yamlParser) col() int { return p.pos - (bytes.LastIndexByte(p.src[:p.pos], '\n') + 1) + 1 }

func (p *yamlParser) errorf(format string, args ...any) error {
	line := bytes.Count(p.src[:p.pos], []byte{'\n'}) + 1
	return fmt.Errorf("%w: %s:%d:%d: %s", ErrMalformed, p.what, line, p.col(), fmt.Sprintf(format, args...))
}

func (p *yamlParser) skipSpace(newlines bool) {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ':
		case '\n', '\r':
			if !newlines {
				return
			}
		default:
			return
		}
		p.pos++
	}
}

func isScalarByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func (p *yamlParser) scalar() (string, error) {
	start := p.pos
	for p.pos < len(p.src) && isScalarByte(p.src[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		if p.pos == len(p.src) {
			return "", p.errorf("unexpected end of input, want a scalar")
		}
		return "", p.errorf("unexpected %q, want a scalar", p.src[p.pos])
	}
	return string(p.src[start:p.pos]), nil
}

func (p *yamlParser) expect(c byte) error {
	if p.pos == len(p.src) {
		return p.errorf("unexpected end of input, want %q", c)
	}
	if p.src[p.pos] != c {
		return p.errorf("unexpected %q, want %q", p.src[p.pos], c)
	}
	p.pos++
	return nil
}

// flowMap reads "{k: v, k: v}" (newlines and spaces allowed between tokens, no trailing
// comma) and returns its pairs in order.
func (p *yamlParser) flowMap() ([][2]string, error) {
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	var out [][2]string
	seen := map[string]bool{}
	p.skipSpace(true)
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return out, nil
	}
	for {
		p.skipSpace(true)
		k, err := p.scalar()
		if err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, p.errorf("key %q appears twice", k)
		}
		seen[k] = true
		p.skipSpace(true)
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		p.skipSpace(true)
		v, err := p.scalar()
		if err != nil {
			return nil, err
		}
		out = append(out, [2]string{k, v})
		p.skipSpace(true)
		if p.pos == len(p.src) {
			return nil, p.errorf("unexpected end of input, want ',' or '}'")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return out, nil
		default:
			return nil, p.errorf("unexpected %q, want ',' or '}'", p.src[p.pos])
		}
	}
}
