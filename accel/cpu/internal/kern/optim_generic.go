//go:build !amd64 || purego

package kern

// sgd runs SGD with the pure-Go kernel: this build has no assembly.
func sgd(w, g, v []float32, lr, momentum, wd float32) { sgdGo(w, g, v, lr, momentum, wd) }

// adamW runs AdamW with the pure-Go kernel: this build has no assembly.
func adamW(w, g, m, v []float32, p adamParams) { adamWGo(w, g, m, v, p) }
