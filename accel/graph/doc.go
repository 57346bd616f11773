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
// # Work without compiling
//
// Pricing needs only a summary of the step program (Work: instruction and slot counts,
// elements, FLOPs per primitive). Graph.StepWork counts it from the graph in one linear pass,
// by the same per-op rules Compile follows (the forward, backward and update instructions of
// each node, a PrimAdd for every extra gradient contribution at a fan-out) and the same FLOP
// formulas (Program.FLOPs and StepWork share them); DecodeWork does it straight from an
// encoding, sharing Decode's parser and validator but keeping only each node's op and where
// its shape is (five bytes a node, beside the shapes' integers), so that a chain prices a
// graph of MaxNodes nodes in milliseconds. The tests hold StepWork equal to
// Compile(...).Work() on every graph kind the SDK builds and on random graphs up to MaxNodes,
// and FuzzDecode holds DecodeWork equal to Decode plus StepWork on every input.
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
// Decoding is linear in the input and takes a constant number of allocations (the nodes, one
// array for all inputs and dimensions, one string for all names); a malformed encoding is
// reported as ErrMalformed before any semantic error (ErrInvalidGraph).
//
// # Limits
//
// MaxNodes (2^17) bounds every graph, however made; MaxEncodedSize follows from it (14.8 MB).
// The other limits bound what a graph may ask of a runtime: MaxElements per tensor, MaxDim,
// MaxRank, MaxParamTotal over all parameters, and, at Compile, MaxBatch and
// MaxBatchElements per batched tensor. Compile, like decoding and StepWork, is linear in the
// nodes: a graph of MaxNodes nodes compiles in about 0.3 s into a program of about 90 MB
// (measured on a 131,066-node MLP, 235,917 instructions); what running it takes is bounded
// per tensor by the limits above and in total by the memory a task declares (Program slots,
// priced by the market as MemoryBytes).
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
