package lint

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/format"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// kernelDirs are the directories, relative to the module root, whose
// non-test Go files (recursively) must use canonical arithmetic.
var kernelDirs = []string{"accel/cpu", "internal/f32"}

// domainDirs are the directories, relative to the module root, of the
// deterministic state machines: no clock, no environment, no global
// randomness.
var domainDirs = []string{"pol", "dispute", "stake", "market", "labeling", "chain/sm"}

// finding is one lint report.
type finding struct {
	pos token.Position
	msg string
}

func (f finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", f.pos.Filename, f.pos.Line, f.pos.Column, f.msg)
}

// pkg is one parsed and type-checked package.
type pkg struct {
	path  string // import path
	dir   string
	files []*ast.File
	info  *types.Info
	types *types.Package
	errs  []error // type errors
}

// loader parses and type-checks packages: those of this module from their
// directories, everything else (the standard library) from GOROOT source.
type loader struct {
	fset    *token.FileSet
	root    string // module root directory
	modPath string // module path from go.mod
	std     types.Importer
	pkgs    map[string]*pkg // by import path; nil value: loading (cycle guard)
}

var (
	sharedOnce   sync.Once
	sharedLoader *loader
	sharedErr    error
)

// getLoader returns the loader shared by all tests of this package, so the
// standard library is type-checked from source once.
func getLoader(t *testing.T) *loader {
	t.Helper()
	sharedOnce.Do(func() { sharedLoader, sharedErr = newLoader() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedLoader
}

func newLoader() (*loader, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return nil, fmt.Errorf("lint: no go.mod above %s", wd)
		}
		root = parent
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	var modPath string
	for line := range strings.Lines(string(gomod)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			modPath = strings.Trim(strings.TrimSpace(rest), `"`)
			break
		}
	}
	if modPath == "" {
		return nil, fmt.Errorf("lint: no module line in %s", filepath.Join(root, "go.mod"))
	}
	fset := token.NewFileSet()
	return &loader{
		fset:    fset,
		root:    root,
		modPath: modPath,
		std:     importer.ForCompiler(fset, "source", nil),
		pkgs:    map[string]*pkg{},
	}, nil
}

// Import implements types.Importer.
func (l *loader) Import(path string) (*types.Package, error) {
	if path == l.modPath || strings.HasPrefix(path, l.modPath+"/") {
		dir := filepath.Join(l.root, filepath.FromSlash(strings.TrimPrefix(path, l.modPath)))
		p, err := l.load(dir, path)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, fmt.Errorf("lint: no Go files for %s in %s", path, dir)
		}
		return p.types, nil
	}
	return l.std.Import(path)
}

// isLocal reports whether p is a package this loader parsed itself (this
// module or a testdata package), as opposed to the standard library.
func (l *loader) isLocal(p *types.Package) bool {
	_, ok := l.pkgs[p.Path()]
	return ok
}

// load parses and type-checks the non-test Go files of dir that match the
// host's build constraints. It returns nil, nil for a directory without
// such files.
func (l *loader) load(dir, path string) (*pkg, error) {
	if p, ok := l.pkgs[path]; ok {
		if p == nil {
			return nil, fmt.Errorf("lint: import cycle through %s", path)
		}
		return p, nil
	}
	bp, err := build.Default.ImportDir(dir, 0)
	if err != nil {
		if _, ok := errors.AsType[*build.NoGoError](err); ok {
			return nil, nil
		}
		return nil, fmt.Errorf("lint: reading %s: %w", dir, err)
	}
	l.pkgs[path] = nil
	p := &pkg{path: path, dir: dir}
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(l.fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			delete(l.pkgs, path)
			return nil, fmt.Errorf("lint: %w", err)
		}
		p.files = append(p.files, f)
	}
	p.info = &types.Info{
		Types: map[ast.Expr]types.TypeAndValue{},
		Defs:  map[*ast.Ident]types.Object{},
		Uses:  map[*ast.Ident]types.Object{},
	}
	conf := types.Config{
		Importer: l,
		Error:    func(err error) { p.errs = append(p.errs, err) },
	}
	p.types, _ = conf.Check(path, l.fset, p.files, p.info) // errors collected above
	l.pkgs[path] = p
	return p, nil
}

// loadTree loads every package under rel (relative to the module root),
// skipping testdata and directories starting with "." or "_". It returns
// no packages when rel does not exist.
func (l *loader) loadTree(rel string) ([]*pkg, error) {
	top := filepath.Join(l.root, filepath.FromSlash(rel))
	if _, err := os.Stat(top); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var pkgs []*pkg
	err := filepath.WalkDir(top, func(dir string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); dir != top && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		relDir, err := filepath.Rel(l.root, dir)
		if err != nil {
			return err
		}
		p, err := l.load(dir, l.modPath+"/"+filepath.ToSlash(relDir))
		if err != nil {
			return err
		}
		if p != nil {
			pkgs = append(pkgs, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lint: walking %s: %w", rel, err)
	}
	return pkgs, nil
}

// rule is one lint rule over a type-checked package.
type rule func(l *loader, p *pkg) []finding

// report runs rules over pkgs and fails t for every finding and for every
// package that does not type-check.
func report(t *testing.T, l *loader, pkgs []*pkg, rules ...rule) {
	t.Helper()
	for _, p := range pkgs {
		for i, err := range p.errs {
			if i == 5 {
				t.Errorf("%s: %d more type errors", p.path, len(p.errs)-i)
				break
			}
			t.Errorf("%s does not type-check, so it cannot be linted: %v", p.path, err)
		}
		for _, r := range rules {
			for _, f := range r(l, p) {
				f.pos.Filename = l.rel(f.pos.Filename)
				t.Error(f)
			}
		}
	}
}

// rel returns name relative to the module root when it is inside it.
func (l *loader) rel(name string) string {
	if r, err := filepath.Rel(l.root, name); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return name
}

// TestKernelArithmetic checks canonical arithmetic (no fusable
// multiply-add, no architecture-dependent math functions) in accel/cpu and
// internal/f32.
func TestKernelArithmetic(t *testing.T) {
	l := getLoader(t)
	var pkgs []*pkg
	for _, dir := range kernelDirs {
		ps, err := l.loadTree(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d packages", dir, len(ps))
		pkgs = append(pkgs, ps...)
	}
	// internal/f32 always exists: if nothing was found, the walk is broken
	// and the test would pass vacuously.
	if !slices.ContainsFunc(pkgs, func(p *pkg) bool { return p.path == l.modPath+"/internal/f32" }) {
		t.Fatalf("internal/f32 not found under %s", l.root)
	}
	report(t, l, pkgs, checkFMA, checkMathCalls)
}

// TestDomainDeterminism checks that the domain packages (pol, dispute, stake, market, labeling, chain/sm) read no clock,
// no environment and no global randomness.
func TestDomainDeterminism(t *testing.T) {
	l := getLoader(t)
	for _, dir := range domainDirs {
		pkgs, err := l.loadTree(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(pkgs) == 0 {
			t.Logf("%s: no packages yet, nothing to check", dir)
			continue
		}
		t.Logf("%s: %d packages", dir, len(pkgs))
		report(t, l, pkgs, checkNondeterminism)
	}
}

// isFloat reports whether t is a float type (float32, float64 or a type
// defined on them, or an untyped float).
func isFloat(t types.Type) bool {
	if t == nil {
		return false
	}
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsFloat != 0
}

// product returns the float multiplication that e is, seen through
// parentheses and unary + and -, or nil. Constant products are folded by
// the compiler and never fused, so they are not products here.
func product(info *types.Info, e ast.Expr) *ast.BinaryExpr {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
			continue
		case *ast.UnaryExpr:
			if x.Op == token.SUB || x.Op == token.ADD {
				e = x.X
				continue
			}
		case *ast.BinaryExpr:
			tv := info.Types[x]
			if x.Op == token.MUL && tv.Value == nil && isFloat(tv.Type) {
				return x
			}
		}
		return nil
	}
}

// localVar returns the local variable that e is (through parentheses and
// unary + and -), or nil.
func localVar(info *types.Info, e ast.Expr) *types.Var {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
			continue
		case *ast.UnaryExpr:
			if x.Op == token.SUB || x.Op == token.ADD {
				e = x.X
				continue
			}
		case *ast.Ident:
			obj := info.Uses[x]
			if obj == nil {
				obj = info.Defs[x]
			}
			v, ok := obj.(*types.Var)
			if !ok || v.IsField() || v.Pkg() == nil || v.Parent() == v.Pkg().Scope() || !isFloat(v.Type()) {
				return nil
			}
			return v
		}
		return nil
	}
}

// conversion returns the name of the conversion that rounds a product of
// type t: "float32", "float64" or the name of a defined float type.
func conversion(p *pkg, t types.Type) string {
	return types.TypeString(t, types.RelativeTo(p.types))
}

// src returns the source text of e.
func src(fset *token.FileSet, e ast.Expr) string {
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, e); err != nil {
		return "the product"
	}
	return buf.String()
}

// checkFMA reports float multiplications that Go may fuse with an addition.
func checkFMA(l *loader, p *pkg) []finding {
	var out []finding
	add := func(prod *ast.BinaryExpr, why string) {
		t := conversion(p, p.info.TypeOf(prod))
		out = append(out, finding{
			pos: l.fset.Position(prod.Pos()),
			msg: fmt.Sprintf("unguarded multiply-add: %s; write %s(%s) so it is rounded and never fused into an FMA",
				why, t, src(l.fset, prod)),
		})
	}
	type assignment struct {
		v    *types.Var
		prod *ast.BinaryExpr
		at   ast.Node
	}
	var assigned []assignment        // products stored in local variables
	addends := map[*types.Var]bool{} // local variables that are operands of a float + or -
	noteAddend := func(e ast.Expr) {
		if v := localVar(p.info, e); v != nil {
			addends[v] = true
		}
	}
	for _, f := range p.files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if (n.Op != token.ADD && n.Op != token.SUB) || !isFloat(p.info.TypeOf(n)) || p.info.Types[n].Value != nil {
					break
				}
				for _, operand := range []ast.Expr{n.X, n.Y} {
					if prod := product(p.info, operand); prod != nil {
						add(prod, fmt.Sprintf("the product is an operand of %s", n.Op))
					}
					noteAddend(operand)
				}
			case *ast.AssignStmt:
				switch n.Tok {
				case token.ADD_ASSIGN, token.SUB_ASSIGN:
					if !isFloat(p.info.TypeOf(n.Lhs[0])) {
						break
					}
					if prod := product(p.info, n.Rhs[0]); prod != nil {
						add(prod, fmt.Sprintf("the product is an operand of %s", n.Tok))
					}
					noteAddend(n.Lhs[0])
					noteAddend(n.Rhs[0])
				case token.MUL_ASSIGN:
					if v := localVar(p.info, n.Lhs[0]); v != nil {
						// v *= y is v = v*y: a product stored in v.
						prod := &ast.BinaryExpr{X: n.Lhs[0], OpPos: n.TokPos, Op: token.MUL, Y: n.Rhs[0]}
						assigned = append(assigned, assignment{v, prod, n})
					}
				case token.DEFINE, token.ASSIGN:
					if len(n.Lhs) != len(n.Rhs) {
						break
					}
					for i, lhs := range n.Lhs {
						if v := localVar(p.info, lhs); v != nil {
							if prod := product(p.info, n.Rhs[i]); prod != nil {
								assigned = append(assigned, assignment{v, prod, n})
							}
						}
					}
				}
			case *ast.ValueSpec:
				if len(n.Names) != len(n.Values) {
					break
				}
				for i, name := range n.Names {
					if v := localVar(p.info, name); v != nil {
						if prod := product(p.info, n.Values[i]); prod != nil {
							assigned = append(assigned, assignment{v, prod, n})
						}
					}
				}
			case *ast.ReturnStmt:
				for _, r := range n.Results {
					if prod := product(p.info, r); prod != nil {
						add(prod, "a returned product may be fused into the caller's addition after inlining")
					}
				}
			case *ast.CallExpr:
				if !l.mayInline(p, n) {
					break
				}
				for _, arg := range n.Args {
					if prod := product(p.info, arg); prod != nil {
						add(prod, fmt.Sprintf("a product passed to %s may be fused into its addition after inlining", src(l.fset, n.Fun)))
					}
				}
			}
			return true
		})
	}
	for _, a := range assigned {
		if addends[a.v] {
			t := conversion(p, a.v.Type())
			out = append(out, finding{
				pos: l.fset.Position(a.at.Pos()),
				msg: fmt.Sprintf("unguarded multiply-add across statements: %s holds the product %s and is an operand of a float + or -, which Go may fuse; write %s = %s(%s)",
					a.v.Name(), src(l.fset, a.prod), a.v.Name(), t, src(l.fset, a.prod)),
			})
		}
	}
	sortFindings(out)
	return out
}

// mayInline reports whether call calls code of this module (or of the
// package itself) that the compiler may inline, as opposed to a builtin, a
// conversion or a standard-library function.
func (l *loader) mayInline(p *pkg, call *ast.CallExpr) bool {
	if tv, ok := p.info.Types[call.Fun]; ok && (tv.IsType() || tv.IsBuiltin()) {
		return false
	}
	var id *ast.Ident
	switch fun := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = fun
	case *ast.SelectorExpr:
		id = fun.Sel
	default:
		return true // a function literal or a computed function value
	}
	if fn, ok := p.info.Uses[id].(*types.Func); ok && fn.Pkg() != nil && !l.isLocal(fn.Pkg()) && fn.Pkg() != p.types {
		return false // the standard library
	}
	return true
}

// forbiddenMath lists the math functions whose results are not specified
// exactly by IEEE-754 and differ between architectures.
var forbiddenMath = map[string]bool{
	"Exp": true, "Exp2": true, "Expm1": true, "Log": true, "Log2": true, "Log10": true,
	"Log1p": true, "Logb": true, "Ilogb": true, "Pow": true, "Tanh": true, "Sinh": true,
	"Cosh": true, "Asinh": true, "Acosh": true, "Atanh": true, "Sin": true, "Cos": true,
	"Tan": true, "Sincos": true, "Asin": true, "Acos": true, "Atan": true, "Atan2": true,
	"Erf": true, "Erfc": true, "Erfinv": true, "Erfcinv": true, "Gamma": true,
	"Lgamma": true, "J0": true, "J1": true, "Jn": true, "Y0": true, "Y1": true, "Yn": true,
	"Cbrt": true, "Hypot": true,
}

// allowedCmplx lists the exact functions of math/cmplx; the others are
// built on forbidden math functions.
var allowedCmplx = map[string]bool{"Conj": true, "Inf": true, "NaN": true, "IsInf": true, "IsNaN": true}

// canonical names the internal/f32 replacement of a math function.
var canonical = map[string]string{"Exp": "f32.Exp", "Log": "f32.Log", "Tanh": "f32.Tanh"}

// checkMathCalls reports uses (calls or function values) of math functions
// that differ across architectures.
func checkMathCalls(l *loader, p *pkg) []finding {
	var out []finding
	for id, obj := range p.info.Uses {
		fn, ok := obj.(*types.Func)
		if !ok || fn.Pkg() == nil || fn.Signature().Recv() != nil {
			continue
		}
		path, name := fn.Pkg().Path(), fn.Name()
		if !(path == "math" && forbiddenMath[name]) && !(path == "math/cmplx" && !allowedCmplx[name]) {
			continue
		}
		instead := "a canonical implementation in internal/f32 (add one there if it is missing)"
		if c, ok := canonical[name]; ok && path == "math" {
			instead = c + " from github.com/deai-go/deai/internal/f32"
		}
		out = append(out, finding{
			pos: l.fset.Position(id.Pos()),
			msg: fmt.Sprintf("%s.%s gives different bits on different architectures; use %s", path, name, instead),
		})
	}
	sortFindings(out)
	return out
}

// checkNondeterminism reports reads of the clock, the environment and the
// global random source.
func checkNondeterminism(l *loader, p *pkg) []finding {
	var out []finding
	for id, obj := range p.info.Uses {
		fn, ok := obj.(*types.Func)
		if !ok || fn.Pkg() == nil || fn.Signature().Recv() != nil {
			continue
		}
		path, name := fn.Pkg().Path(), fn.Name()
		var instead string
		switch {
		case path == "time" && (name == "Now" || name == "Since" || name == "Until"):
			instead = "take the time from a clock injected through Config, so replays agree"
		case (path == "math/rand" || path == "math/rand/v2") && !strings.HasPrefix(name, "New"):
			instead = "use a generator seeded from the task: rand.New(rand.NewPCG(seed1, seed2)) from math/rand/v2, or the SDK's counter-based generator"
		case path == "os" && (name == "Getenv" || name == "LookupEnv" || name == "Environ" || name == "ExpandEnv"):
			instead = "pass the setting through a Config field"
		default:
			continue
		}
		out = append(out, finding{
			pos: l.fset.Position(id.Pos()),
			msg: fmt.Sprintf("%s.%s makes the state machine nondeterministic; %s", path, name, instead),
		})
	}
	sortFindings(out)
	return out
}

func sortFindings(fs []finding) {
	slices.SortFunc(fs, func(a, b finding) int {
		if c := strings.Compare(a.pos.Filename, b.pos.Filename); c != 0 {
			return c
		}
		if a.pos.Line != b.pos.Line {
			return a.pos.Line - b.pos.Line
		}
		return a.pos.Column - b.pos.Column
	})
}

// wantRE matches the quoted strings of a `// want "..." "..."` comment.
var wantRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// wants returns, per line of p's files, the substrings that findings on that
// line must contain.
func wants(t *testing.T, fset *token.FileSet, p *pkg) map[int][]string {
	t.Helper()
	out := map[int][]string{}
	for _, f := range p.files {
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				text, ok := strings.CutPrefix(c.Text, "// want ")
				if !ok {
					continue
				}
				line := fset.Position(c.Pos()).Line
				for _, q := range wantRE.FindAllString(text, -1) {
					s, err := strconv.Unquote(q)
					if err != nil {
						t.Fatalf("%s: bad want %s: %v", fset.Position(c.Pos()), q, err)
					}
					out[line] = append(out[line], s)
				}
			}
		}
	}
	return out
}

// TestRulesCatch shows each rule catching what it claims on the bad
// snippets of testdata/src and staying quiet on the good ones.
func TestRulesCatch(t *testing.T) {
	l := getLoader(t)
	tests := []struct {
		dir   string
		rules []rule
	}{
		{"fma", []rule{checkFMA}},
		{"mathcall", []rule{checkMathCalls}},
		{"nondet", []rule{checkNondeterminism}},
	}
	for _, tt := range tests {
		for _, kind := range []string{"bad", "good"} {
			t.Run(tt.dir+"/"+kind, func(t *testing.T) {
				dir, err := filepath.Abs(filepath.Join("testdata", "src", tt.dir, kind))
				if err != nil {
					t.Fatal(err)
				}
				p, err := l.load(dir, "testdata/"+tt.dir+"/"+kind)
				if err != nil {
					t.Fatal(err)
				}
				if p == nil {
					t.Fatalf("no Go files in %s", dir)
				}
				for _, err := range p.errs {
					t.Errorf("type error: %v", err)
				}
				var got []finding
				for _, r := range tt.rules {
					got = append(got, r(l, p)...)
				}
				want := wants(t, l.fset, p)
				if kind == "bad" && len(want) == 0 {
					t.Fatal("a bad snippet without want comments proves nothing")
				}
				if kind == "good" && len(want) != 0 {
					t.Fatal("good snippets must not carry want comments")
				}
				matched := map[int][]bool{}
				for line, ws := range want {
					matched[line] = make([]bool, len(ws))
				}
				for _, f := range got {
					ok := false
					for i, w := range want[f.pos.Line] {
						if !matched[f.pos.Line][i] && strings.Contains(f.msg, w) {
							matched[f.pos.Line][i], ok = true, true
							break
						}
					}
					if !ok {
						t.Errorf("unexpected report %s", f)
					}
				}
				for line, ms := range matched {
					for i, m := range ms {
						if !m {
							t.Errorf("%s:%d: no report containing %q", filepath.Base(dir), line, want[line][i])
						}
					}
				}
				t.Logf("%d reports", len(got))
			})
		}
	}
}
