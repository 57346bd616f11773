package pb

//go:generate sh -c "protoc --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --go_out=. --go_opt=paths=source_relative pol.proto"

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsFresh regenerates pol.pb.go into a temporary directory with the pinned
// protoc-gen-go (go tool) and fails when it differs from the committed file.
func TestGeneratedCodeIsFresh(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("protoc not installed (Debian package protobuf-compiler): cannot check pol.pb.go for drift")
	}
	// Build the plugin for the machine that runs protoc, even when the test binary itself was
	// cross-compiled (GOARCH=arm64 under qemu, GOARCH=386).
	goTool := exec.Command("go", "tool", "-n", "protoc-gen-go")
	goTool.Env = append(os.Environ(), "GOOS=", "GOARCH=", "GOAMD64=")
	out, err := goTool.Output()
	if err != nil {
		t.Fatalf("locating protoc-gen-go with go tool: %v", err)
	}
	plugin := strings.TrimSpace(string(out))
	dir := t.TempDir()
	cmd := exec.Command(protoc, "--plugin=protoc-gen-go="+plugin, "--go_out="+dir, "--go_opt=paths=source_relative", "pol.proto")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, msg)
	}
	fresh, err := os.ReadFile(filepath.Join(dir, "pol.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("pol.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Errorf("pol.pb.go is stale: run `go generate ./pol/internal/pb` and commit the result (regenerated %d bytes, committed %d)", len(fresh), len(committed))
	}
}
