//go:build amd64 && !purego && amd64.v3

package kern

// amd64v3 is set when the test binary was built with GOAMD64=v3 or later.
const amd64v3 = true
