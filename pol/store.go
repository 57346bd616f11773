package pol

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// ErrNotFound is returned, wrapped, by Store.Get for a key the store does not hold.
var ErrNotFound = errors.New("pol: not found")

// Store keeps checkpoints, content-addressed: the key of a checkpoint is the state hash of the
// state it encodes, so whoever reads one checks it against the key. Implementations must be
// safe for concurrent use and must not retain data passed to Put or returned by Get.
type Store interface {
	// Put stores data under key. Storing the same key twice keeps either copy.
	Put(ctx context.Context, key Hash, data []byte) error
	// Get returns the data stored under key, or an error wrapping ErrNotFound.
	Get(ctx context.Context, key Hash) ([]byte, error)
}

// MemStore is a Store in memory.
type MemStore struct {
	mu sync.Mutex
	m  map[Hash][]byte
}

var (
	_ Store = (*MemStore)(nil)
	_ Store = (*DirStore)(nil)
)

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore { return &MemStore{m: map[Hash][]byte{}} }

// Put stores a copy of data.
func (s *MemStore) Put(ctx context.Context, key Hash, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), data...)
	return nil
}

// Get returns a copy of the data under key.
func (s *MemStore) Get(ctx context.Context, key Hash) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.m[key]
	if !ok {
		return nil, fmt.Errorf("%w: checkpoint %s", ErrNotFound, key)
	}
	return append([]byte(nil), d...), nil
}

// Delete removes key (harnesses use it to simulate a prover that lost a checkpoint).
func (s *MemStore) Delete(key Hash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// DirStore is a Store in a directory: the data under key is the file ab/abcd… (the key's hex,
// under a directory named by its first two digits). Writes are crash-safe: a temporary file in
// the same directory is written, synced and renamed over the final name, and the directory is
// synced, so a crash leaves either no file or the whole file.
type DirStore struct {
	dir string
}

// NewDirStore returns a store in dir, creating it when missing.
func NewDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pol: store: %w", err)
	}
	return &DirStore{dir: dir}, nil
}

func (s *DirStore) path(key Hash) string {
	h := hex.EncodeToString(key[:])
	return filepath.Join(s.dir, h[:2], h)
}

// Put writes data under key, crash-safely.
func (s *DirStore) Put(ctx context.Context, key Hash, data []byte) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	final := s.path(key)
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pol: store: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("pol: store: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("pol: store: writing %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("pol: store: syncing %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pol: store: closing %s: %w", key, err)
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return fmt.Errorf("pol: store: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("pol: store: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("pol: store: syncing directory: %w", err)
	}
	return nil
}

// Get reads the data under key.
func (s *DirStore) Get(ctx context.Context, key Hash) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: checkpoint %s in %s", ErrNotFound, key, s.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("pol: store: %w", err)
	}
	return b, nil
}
