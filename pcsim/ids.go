package pcsim

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// guid formats 128 random bits as a lower-case version-4 GUID.
func guid(hi, lo uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// seededGUID draws from the world RNG so that the same seed gives the same ids.
func seededGUID(r *rand.Rand) string { return guid(r.Uint64(), r.Uint64()) }

// newGUID is for ids minted at runtime (orders, carts, trace ids); they need not be reproducible.
func newGUID() string { return guid(rand.Uint64(), rand.Uint64()) }

// newShortID is a new-commerce order id: 12 lower-case hex digits, like "a68736758d9c" in the docs' checkout
// answer and "34b37d7340cc" in their NCE subscription ([PC-2023] developer/checkout-a-cart.md,
// get-a-subscription-by-id.md), not a GUID.
func newShortID() string { return fmt.Sprintf("%012x", rand.Uint64()>>16) }

// correlationVector looks like the MS-CV values of real responses: 16 random bytes in base64, then ".0".
func correlationVector() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], rand.Uint64())
	binary.BigEndian.PutUint64(b[8:], rand.Uint64())
	return base64.RawStdEncoding.EncodeToString(b[:]) + ".0"
}
