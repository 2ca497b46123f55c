package minirag_test

import (
	"errors"
	"fmt"

	"github.com/minirag/minirag"
)

// A host checks a key from its secret manager before starting; the error
// names the field, never the key.
func ExampleValidateEncryptionKey() {
	key, err := minirag.GenerateEncryptionKey()
	if err != nil {
		panic(err)
	}
	fmt.Println(minirag.ValidateEncryptionKey(key))

	err = minirag.ValidateEncryptionKey("c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
	fmt.Println(errors.Is(err, minirag.ErrInvalidInput))
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// minirag: invalid input: encryption_key: is not a Fernet key (URL-safe base64 of 32 bytes, see GenerateEncryptionKey)
}
