// Package graph describes models as static graphs of typed operations and compiles them into
// training-step programs.
//
// A Graph is what a task names: an input, parameters with initialisation rules, operations
// (matmul, bias add, relu, tanh, conv2d, max and average pooling, flatten) and one softmax
// cross-entropy loss. Build one with a Builder (or take FashionMLP, FashionCNN); shapes are
// inferred and checked as nodes are added, and every node input names an earlier node, so a
// graph is topologically ordered and acyclic by construction.
//
// Compile turns a graph, a batch size and an optimizer into a Program: the exact list of
// primitives one training step performs (forward pass, loss, reverse-mode gradients, optimizer
// update) over numbered slots. Programs are the common language of the SDK: backends execute
// them, traces hash every instruction's outputs in program order, disputes bisect over them,
// and the market prices them by their exact FLOP counts (Program.FLOPs, Program.Costs).
// Because compilation is a pure function of its arguments, two parties holding the same graph
// hash agree on every instruction.
//
// # Canonical encoding
//
// A graph's encoding is the byte string, all integers little-endian:
//
//	"DEAIGRPH"  u16 version (1)  u32 node count
//	per node:   u8 op  u8 name length  name bytes
//	            u8 input count  u32 input index…
//	            u8 rank  u32 dimension…          (the inferred output shape)
//	            u16 KH KW SH SW PH PW  u8 init  u32 fan-in  u32 fan-out
//
// Op and init numbers are those of the Op and Init constants and never change. Decode accepts
// exactly the encodings Encode produces: it rejects truncation, trailing bytes, unknown ops,
// forward references (cycles), stored shapes that disagree with inference, and anything beyond
// the limits (MaxNodes, MaxRank, MaxDim, MaxElements, MaxParamTotal), before allocating for it.
//
// # Hash
//
// Graph.Hash is SHA-256("deai/graph/v1\x00" ‖ encoding). Proofs and tasks bind to it.
//
// # Initialisation
//
// Program.InitState derives every parameter from the run's seed through the counter-based
// generator of internal/rng (Philox4x32-10), one stream per parameter, so that the initial
// state, and with it every state hash of a run, is a function of (graph, batch, optimizer,
// seed).
package graph
