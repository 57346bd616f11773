// Package canon holds what the SDK's canonical binary decoders share: a big-endian Reader
// whose first failure sticks, so that a decoder reads field after field and checks the error
// once, and never reads past its input or panics on hostile bytes.
package canon
