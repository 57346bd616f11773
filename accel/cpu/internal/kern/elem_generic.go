//go:build !amd64 || purego

package kern

// relu runs ReLU with the pure-Go kernel: this build has no assembly.
func relu(y, x []float32) { reluGo(y, x) }

// reluGrad runs ReLUGrad with the pure-Go kernel: this build has no
// assembly.
func reluGrad(dx, dy, y []float32) { reluGradGo(dx, dy, y) }
