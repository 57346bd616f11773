package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/deai-go/deai/chain"
	bolt "go.etcd.io/bbolt"
)

// store keeps blocks and the latest state snapshot. put is atomic and, for the bbolt store,
// durable when it returns.
type store interface {
	// head returns the height of the last block, ok false for an empty store.
	head() (height uint64, ok bool, err error)
	// block returns the encoding of the block at height.
	block(height uint64) ([]byte, error)
	// put appends the block at height and, when snap is not nil, replaces the snapshot.
	put(height uint64, block, snap []byte) error
	// snapshot returns the latest snapshot, nil if none.
	snapshot() ([]byte, error)
	close() error
}

var (
	bucketBlocks = []byte("blocks")
	bucketMeta   = []byte("meta")
	keySnapshot  = []byte("snapshot")
)

type boltStore struct{ db *bolt.DB }

func openBolt(path string) (*boltStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketBlocks); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(bucketMeta)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: init %s: %w", path, err)
	}
	return &boltStore{db: db}, nil
}

func heightKey(h uint64) []byte { return binary.BigEndian.AppendUint64(nil, h) }

func (s *boltStore) head() (height uint64, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketBlocks).Cursor().Last()
		if k == nil {
			return nil
		}
		if len(k) != 8 {
			return fmt.Errorf("%w: block key %x", chain.ErrCorrupt, k)
		}
		height, ok = binary.BigEndian.Uint64(k), true
		return nil
	})
	return height, ok, err
}

func (s *boltStore) block(height uint64) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketBlocks).Get(heightKey(height))
		if v == nil {
			return fmt.Errorf("%w: block %d missing", chain.ErrCorrupt, height)
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}

func (s *boltStore) put(height uint64, block, snap []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketBlocks).Put(heightKey(height), block); err != nil {
			return err
		}
		if snap != nil {
			return tx.Bucket(bucketMeta).Put(keySnapshot, snap)
		}
		return nil
	})
}

func (s *boltStore) snapshot() ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySnapshot); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, err
}

func (s *boltStore) close() error { return s.db.Close() }

// memStore keeps everything in memory: no durability.
type memStore struct {
	blocks [][]byte
	snap   []byte
}

func (s *memStore) head() (uint64, bool, error) {
	if len(s.blocks) == 0 {
		return 0, false, nil
	}
	return uint64(len(s.blocks) - 1), true, nil
}

func (s *memStore) block(height uint64) ([]byte, error) {
	if height >= uint64(len(s.blocks)) {
		return nil, fmt.Errorf("%w: block %d missing", chain.ErrCorrupt, height)
	}
	return s.blocks[height], nil
}

func (s *memStore) put(height uint64, block, snap []byte) error {
	if height != uint64(len(s.blocks)) {
		return errors.New("embedded: block out of order")
	}
	s.blocks = append(s.blocks, block)
	if snap != nil {
		s.snap = snap
	}
	return nil
}

func (s *memStore) snapshot() ([]byte, error) { return s.snap, nil }

func (s *memStore) close() error { return nil }
