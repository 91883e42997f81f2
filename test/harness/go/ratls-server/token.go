package main

// Checks a CCA token the way islet's RA-TLS server does: the token collection's shape,
// the realm token's COSE_Sign1 ES384 signature by the key in its claim 44237, the
// platform token's challenge binding that key, the challenge bound to this connection, and
// the realm measurements against reference values.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"math/big"
)

const (
	tagCcaToken  = 399
	tagCoseSign1 = 18
	keyPlatform  = 44234
	keyRealm     = 44241

	claimChallenge       = 10
	claimPersonalization = 44235
	claimHashAlgo        = 44236
	claimRealmPublicKey  = 44237
	claimRim             = 44238
	claimRems            = 44239
	claimPubKeyHashAlgo  = 44240
)

// Reference values of the one realm allowed in (JSON file given with -reference).
type Reference struct {
	Rim      string   `json:"rim"`
	Rems     []string `json:"rems"`
	HashAlgo string   `json:"hash-algo"`
}

type sign1 struct {
	protected, payload, signature []byte
	claims                        map[interface{}]interface{}
}

func parseSign1(raw []byte, what string) (*sign1, error) {
	v, err := decodeCBOR(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	tagged, ok := v.(Tagged)
	if !ok || tagged.Tag != tagCoseSign1 {
		return nil, fmt.Errorf("%s is not a COSE_Sign1 (tag 18)", what)
	}
	parts, ok := tagged.Content.([]interface{})
	if !ok || len(parts) != 4 {
		return nil, fmt.Errorf("%s: COSE_Sign1 is not a 4-element array", what)
	}
	s := &sign1{}
	var okP, okL, okS bool
	s.protected, okP = parts[0].([]byte)
	s.payload, okL = parts[2].([]byte)
	s.signature, okS = parts[3].([]byte)
	if !okP || !okL || !okS {
		return nil, fmt.Errorf("%s: COSE_Sign1 fields are not byte strings", what)
	}
	payload, err := decodeCBOR(s.payload)
	if err != nil {
		return nil, fmt.Errorf("%s claims: %v", what, err)
	}
	if s.claims, ok = payload.(map[interface{}]interface{}); !ok {
		return nil, fmt.Errorf("%s claims are not a map", what)
	}
	return s, nil
}

func claimBytes(claims map[interface{}]interface{}, key uint64, what string) ([]byte, error) {
	b, ok := claims[key].([]byte)
	if !ok {
		return nil, fmt.Errorf("%s claim %d is missing or not bytes", what, key)
	}
	return b, nil
}

func claimText(claims map[interface{}]interface{}, key uint64, what string) (string, error) {
	s, ok := claims[key].(string)
	if !ok {
		return "", fmt.Errorf("%s claim %d is missing or not text", what, key)
	}
	return s, nil
}

func hashByName(name string) (hash.Hash, error) {
	switch name {
	case "sha-256":
		return sha256.New(), nil
	case "sha-384":
		return sha512.New384(), nil
	case "sha-512":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("unknown hash algorithm %q", name)
}

// verifyToken checks the raw token; challenge is SHA-512(nonce ‖ client SPKI).
func verifyToken(raw, challenge []byte, ref Reference) error {
	v, err := decodeCBOR(raw)
	if err != nil {
		return fmt.Errorf("token: %v", err)
	}
	tagged, ok := v.(Tagged)
	if !ok || tagged.Tag != tagCcaToken {
		return errors.New("token is not a CCA token (tag 399)")
	}
	collection, ok := tagged.Content.(map[interface{}]interface{})
	if !ok {
		return errors.New("token collection is not a map")
	}
	platformRaw, ok1 := collection[uint64(keyPlatform)].([]byte)
	realmRaw, ok2 := collection[uint64(keyRealm)].([]byte)
	if !ok1 || !ok2 {
		return errors.New("token lacks the platform or realm token")
	}
	platform, err := parseSign1(platformRaw, "platform token")
	if err != nil {
		return err
	}
	realm, err := parseSign1(realmRaw, "realm token")
	if err != nil {
		return err
	}
	// The realm signature, by the realm key the token names (ES384, raw r ‖ s).
	protected, err := decodeCBOR(realm.protected)
	if err != nil {
		return fmt.Errorf("realm protected header: %v", err)
	}
	header, _ := protected.(map[interface{}]interface{})
	if alg, ok := header[uint64(1)].(Negative); !ok || alg != 34 { // -35: ES384
		return errors.New("realm token is not signed ES384")
	}
	point, err := claimBytes(realm.claims, claimRealmPublicKey, "realm")
	if err != nil {
		return err
	}
	x, y := elliptic.Unmarshal(elliptic.P384(), point)
	if x == nil || len(realm.signature) != 96 {
		return errors.New("realm public key or signature is malformed")
	}
	digest := sha512.Sum384(sigStructure(realm.protected, realm.payload))
	key := &ecdsa.PublicKey{Curve: elliptic.P384(), X: x, Y: y}
	r := new(big.Int).SetBytes(realm.signature[:48])
	s := new(big.Int).SetBytes(realm.signature[48:])
	if !ecdsa.Verify(key, digest[:], r, s) {
		return errors.New("realm token signature is wrong")
	}
	// The binding: the platform's challenge is the hash of the realm key.
	algo, err := claimText(realm.claims, claimPubKeyHashAlgo, "realm")
	if err != nil {
		return err
	}
	h, err := hashByName(algo)
	if err != nil {
		return err
	}
	h.Write(point)
	platformChallenge, err := claimBytes(platform.claims, claimChallenge, "platform")
	if err != nil {
		return err
	}
	if !bytes.Equal(platformChallenge, h.Sum(nil)) {
		return errors.New("platform token does not bind the realm key")
	}
	// This connection: the challenge.
	got, err := claimBytes(realm.claims, claimChallenge, "realm")
	if err != nil {
		return err
	}
	if !bytes.Equal(got, challenge) {
		return errors.New("challenge mismatch: the token is not bound to this connection")
	}
	if _, err := claimBytes(realm.claims, claimPersonalization, "realm"); err != nil {
		return err
	}
	// The measurements.
	hashAlgo, err := claimText(realm.claims, claimHashAlgo, "realm")
	if err != nil {
		return err
	}
	if hashAlgo != ref.HashAlgo {
		return fmt.Errorf("hash algorithm %s, reference %s", hashAlgo, ref.HashAlgo)
	}
	rim, err := claimBytes(realm.claims, claimRim, "realm")
	if err != nil {
		return err
	}
	if fmt.Sprintf("%x", rim) != ref.Rim {
		return errors.New("RIM does not match the reference value")
	}
	rems, ok := realm.claims[uint64(claimRems)].([]interface{})
	if !ok || len(rems) != 4 || len(ref.Rems) != 4 {
		return errors.New("realm token does not carry 4 REMs")
	}
	for i, rem := range rems {
		b, ok := rem.([]byte)
		if !ok || fmt.Sprintf("%x", b) != ref.Rems[i] {
			return fmt.Errorf("REM %d does not match the reference value", i)
		}
	}
	return nil
}
