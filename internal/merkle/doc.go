// Package merkle is deai's binary Merkle tree over SHA-256, used to commit to
// datasets, per-step state hashes and checkpoints, with inclusion proofs that
// a verifier or a contract checks against the root alone.
//
// # Hashes
//
// Leaves and inner nodes are hashed in separate domains, so that no leaf can
// pose as an inner node (a second-preimage attack on the tree):
//
//	LeafHash(data)   = SHA-256(0x00 || data)
//	node(left, right) = SHA-256(0x01 || left || right)   (65 bytes hashed)
//
// The functions of this package take leaf hashes, not data: callers hash
// their leaves with [LeafHash] (or another function whose outputs cannot
// start an inner-node preimage) before building a tree.
//
// # Tree shape
//
// Level 0 is the list of n leaf hashes. Level k+1 is built from level k by
// hashing the pairs (0,1), (2,3), ... with node; when level k has an odd
// number of entries, its last entry is promoted to level k+1 unchanged. The
// level with one entry is the root. Hence:
//
//   - the root of one leaf is that leaf hash itself;
//   - the root of three leaves a, b, c is node(node(a, b), c);
//   - the root of the empty tree is [EmptyRoot] = SHA-256("deai/merkle/empty"),
//     a constant outside both domains (its preimage starts with 'd', 0x64).
//
// Promotion rather than duplication of the odd entry (Bitcoin duplicates it)
// avoids CVE-2012-2459: with duplication the lists (a, b, c) and (a, b, c, c)
// have the same root. Here trees of different sizes have different roots
// unless SHA-256 collides, so a root commits to the number of leaves as well.
//
// # Proofs
//
// A [Proof] of leaf i in a tree of n leaves lists the siblings met on the way
// from the leaf to the root, bottom up, skipping the levels where the node is
// promoted (it has no sibling there). [Verify] recomputes the root: with
// index i and width w = n, at each level while w > 1,
//
//   - if i is odd, h = node(sibling, h);
//   - else if i+1 < w, h = node(h, sibling);
//   - else h is promoted and consumes no sibling;
//
// then i = i / 2 and w = (w + 1) / 2. The proof must consume exactly all of
// its siblings, so its length is fixed by (i, n) and at most 40 for the
// largest tree allowed (2^40 leaves).
//
// # Proof encoding
//
// [Proof.MarshalBinary] writes, little-endian:
//
//	bytes 0..7    Index (uint64)
//	bytes 8..15   Size (uint64)
//	byte  16      number of siblings k, at most 64
//	bytes 17..    k siblings of 32 bytes each
//
// [Proof.UnmarshalBinary] accepts exactly that length and rejects Size 0,
// Size above 2^40, Index >= Size and a sibling count that differs from the
// one (Index, Size) determines, so every accepted encoding is canonical.
//
// # Errors and concurrency
//
// Verification failures wrap [ErrInvalidProof] with the facts (which index,
// which size, which count); no input makes the package panic. A [Tree] is
// immutable after [New] and safe for concurrent use.
package merkle
