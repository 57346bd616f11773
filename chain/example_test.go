package chain_test

import (
	"fmt"

	"github.com/deai-go/deai/chain"
)

// Sign a transaction for a machine; anyone recovers the sender from the signature, and a
// changed byte no longer verifies as the same sender.
func ExampleSign() {
	key, err := chain.KeyFromSeed("example solver")
	if err != nil {
		panic(err)
	}
	signed, err := chain.Sign(chain.Tx{ChainID: 1337, Nonce: 0, Machine: "stake", Payload: []byte("payload")}, key)
	if err != nil {
		panic(err)
	}
	sender, err := signed.Sender()
	if err != nil {
		panic(err)
	}
	fmt.Println("sender is the key's address:", sender == chain.KeyAddress(key))
	decoded, err := chain.DecodeTx(signed.Encode())
	if err != nil {
		panic(err)
	}
	fmt.Println("round trip keeps the id:", decoded.Hash() == signed.Hash())
	decoded.Nonce = 1 // a replay with another nonce
	other, err := decoded.Sender()
	fmt.Println("tampered tx recovers the same sender:", err == nil && other == sender)
	// Output:
	// sender is the key's address: true
	// round trip keeps the id: true
	// tampered tx recovers the same sender: false
}
