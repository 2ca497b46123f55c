package minirag

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rfc7515 is testdata/jwt/rfc7515.json (see SOURCE.md there).
type rfc7515 struct {
	Examples []struct {
		Section      string            `json:"section"`
		Alg          string            `json:"alg"`
		SigningInput string            `json:"signing_input"`
		SignatureB64 string            `json:"signature_b64"`
		Compact      string            `json:"compact"`
		JWK          map[string]string `json:"jwk"`
	} `json:"examples"`
}

func loadRFC7515(t *testing.T) rfc7515 {
	t.Helper()
	// The vectors are part of the repository: a missing file fails the
	// test, never skips it.
	b, err := os.ReadFile("testdata/jwt/rfc7515.json")
	require.NoError(t, err, "RFC 7515 vectors (testdata/jwt)")
	var v rfc7515
	require.NoError(t, json.Unmarshal(b, &v))
	require.Len(t, v.Examples, 3)
	return v
}

func b64(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func bigB64(s string) *big.Int { return new(big.Int).SetBytes(b64(s)) }

func rsaFromJWK(jwk map[string]string) *rsa.PrivateKey {
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: bigB64(jwk["n"]), E: int(bigB64(jwk["e"]).Int64())},
		D:         bigB64(jwk["d"]),
		Primes:    []*big.Int{bigB64(jwk["p"]), bigB64(jwk["q"])},
	}
	k.Precompute()
	return k
}

// rfcExp is the exp of the RFC 7515 examples (2011-03-22T18:43:00Z).
var rfcExp = time.Unix(1300819380, 0)

// TestRFC7515HS256 runs the A.1 example through the Client's own verifier
// (the codec New builds from Config.JWT: pinned algorithm, required exp,
// issuer check, injected clock), not golang-jwt alone.
func TestRFC7515HS256(t *testing.T) {
	v := loadRFC7515(t)
	a1 := v.Examples[0]
	require.Equal(t, "HS256", a1.Alg)
	key := b64(a1.JWK["k"])
	require.Len(t, key, 64)

	now := rfcExp.Add(-time.Minute)
	e := newEnv(t, func(c *Config) {
		c.JWT = JWTConfig{Secret: key, Issuer: "joe"}
		c.Now = func() time.Time { return now }
	})
	claims, err := e.c.jwt.parse(a1.Compact)
	require.NoError(t, err)
	assert.Equal(t, "joe", claims.Issuer)
	assert.Equal(t, rfcExp, claims.ExpiresAt.Time)

	// Through Authenticate it passes the signature and time checks and is
	// refused only for lacking our claims (tid, sub).
	_, err = e.c.Authenticate(e.ctx, a1.Compact)
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.Contains(t, err.Error(), "without tenant or subject")

	// The same HMAC our codec signs with reproduces the RFC's signature.
	sig, err := e.c.jwt.method.Sign(a1.SigningInput, e.c.jwt.signKey)
	require.NoError(t, err)
	assert.Equal(t, a1.SignatureB64, base64.RawURLEncoding.EncodeToString(sig))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(a1.SigningInput))
	assert.Equal(t, b64(a1.SignatureB64), m.Sum(nil))

	// One changed signature bit, a wrong key, a wrong issuer, the real
	// clock: each is refused.
	sigB := []byte(a1.SignatureB64)
	sigB[5] ^= 1
	if strings.ContainsRune(string(sigB), 0) {
		t.Fatal("bad tamper")
	}
	_, err = e.c.jwt.parse(a1.SigningInput + "." + string(sigB))
	assert.ErrorIs(t, err, ErrUnauthenticated)
	other := append([]byte(nil), key...)
	other[0] ^= 0xff
	wrongKey, err := newJWTCodec(JWTConfig{Secret: other, Issuer: "joe"}, func() time.Time { return now })
	require.NoError(t, err)
	_, err = wrongKey.parse(a1.Compact)
	assert.ErrorIs(t, err, ErrUnauthenticated)
	wrongIss, err := newJWTCodec(JWTConfig{Secret: key, Issuer: "jane"}, func() time.Time { return now })
	require.NoError(t, err)
	_, err = wrongIss.parse(a1.Compact)
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.Contains(t, err.Error(), "wrong issuer")
	realClock, err := newJWTCodec(JWTConfig{Secret: key, Issuer: "joe"}, time.Now)
	require.NoError(t, err)
	_, err = realClock.parse(a1.Compact)
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.Contains(t, err.Error(), "expired")
	// The A.1 token is not accepted by an RS256 configuration either.
	rsaKey := rsaFromJWK(v.Examples[1].JWK)
	rsCodec, err := newJWTCodec(JWTConfig{Algorithm: JWTRS256, RSAPublicKey: &rsaKey.PublicKey}, func() time.Time { return now })
	require.NoError(t, err)
	_, err = rsCodec.parse(a1.Compact)
	assert.ErrorIs(t, err, ErrUnauthenticated)
}

// TestRFC7515RS256 verifies the A.2 example with an RS256 configuration
// holding only the public key, and checks our signer reproduces the
// signature (PKCS #1 v1.5 is deterministic).
func TestRFC7515RS256(t *testing.T) {
	v := loadRFC7515(t)
	a2 := v.Examples[1]
	require.Equal(t, "RS256", a2.Alg)
	priv := rsaFromJWK(a2.JWK)
	require.NoError(t, priv.Validate())
	now := func() time.Time { return rfcExp.Add(-time.Minute) }
	verifier, err := newJWTCodec(JWTConfig{Algorithm: JWTRS256, RSAPublicKey: &priv.PublicKey, Issuer: "joe"}, now)
	require.NoError(t, err)
	claims, err := verifier.parse(a2.Compact)
	require.NoError(t, err)
	assert.Equal(t, "joe", claims.Issuer)
	_, err = verifier.sign("t", "u", "j", nil, now())
	assert.ErrorIs(t, err, ErrJWTDisabled, "a public key alone cannot sign")

	signer, err := newJWTCodec(JWTConfig{Algorithm: JWTRS256, RSAPrivateKey: priv}, now)
	require.NoError(t, err)
	sig, err := signer.method.Sign(a2.SigningInput, signer.signKey)
	require.NoError(t, err)
	assert.Equal(t, a2.SignatureB64, base64.RawURLEncoding.EncodeToString(sig))
	// An HS256 configuration refuses the RS256 token.
	hs, err := newJWTCodec(JWTConfig{Secret: testJWTSecret}, now)
	require.NoError(t, err)
	_, err = hs.parse(a2.Compact)
	assert.ErrorIs(t, err, ErrUnauthenticated)
}

// craft builds a compact JWS from a header and claims, signed by sign
// (nil: empty signature).
func craft(t *testing.T, header, claims map[string]any, sign func(input string) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	require.NoError(t, err)
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	var sig []byte
	if sign != nil {
		sig = sign(input)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func hmacSign(key []byte, h func() crypto.Hash) func(string) []byte {
	return func(input string) []byte {
		m := hmac.New(h().New, key)
		m.Write([]byte(input))
		return m.Sum(nil)
	}
}

func TestSessionRoundTripAllAlgorithms(t *testing.T) {
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	rsaKey := rsaFromJWK(loadRFC7515(t).Examples[1].JWK)
	for name, jc := range map[string]JWTConfig{
		"HS256": {Secret: testJWTSecret, Issuer: "iss", Audience: "aud"},
		"EdDSA": {Algorithm: JWTEdDSA, Ed25519PrivateKey: edPriv},
		"RS256": {Algorithm: JWTRS256, RSAPrivateKey: rsaKey, Audience: "aud"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.JWT = jc })
			b := e.bootstrap(t, "acme")
			m, err := e.c.Tenant(b.Tenant.ID).CreateUser(e.ctx, CreateUserParams{Email: "m@acme.example"})
			require.NoError(t, err)

			s, err := e.c.IssueSession(e.ctx, b.Tenant.ID, b.Owner.ID)
			require.NoError(t, err)
			assert.Equal(t, e.clock.Now().Add(DefaultJWTTTL).Truncate(time.Second), s.ExpiresAt)
			p, err := e.c.Authenticate(e.ctx, s.Token)
			require.NoError(t, err)
			assert.Equal(t, b.Tenant.ID, p.TenantID)
			assert.Equal(t, b.Owner.ID, p.UserID)
			assert.Equal(t, MethodJWT, p.Method)
			assert.NotEmpty(t, p.TokenID)
			assert.Equal(t, []Scope{ScopeAdmin, ScopeQuery}, p.Scopes)
			_, err = e.c.Scoped(p).CreateBot(e.ctx, BotParams{Name: "ok"})
			assert.NoError(t, err)

			// A member's session can only query.
			sm, err := e.c.IssueSession(e.ctx, b.Tenant.ID, m.ID)
			require.NoError(t, err)
			pm, err := e.c.Authenticate(e.ctx, sm.Token)
			require.NoError(t, err)
			assert.Equal(t, []Scope{ScopeQuery}, pm.Scopes)
			_, err = e.c.Scoped(pm).CreateBot(e.ctx, BotParams{Name: "no"})
			assert.ErrorIs(t, err, ErrForbidden)

			// Within the leeway after exp it passes; beyond, it is expired.
			e.clock.Advance(DefaultJWTTTL + DefaultJWTLeeway - time.Second)
			_, err = e.c.Authenticate(e.ctx, s.Token)
			assert.NoError(t, err)
			e.clock.Advance(2 * time.Second)
			_, err = e.c.Authenticate(e.ctx, s.Token)
			assert.ErrorIs(t, err, ErrUnauthenticated)
			assert.Contains(t, err.Error(), "expired")

			_, err = e.c.IssueSession(e.ctx, b.Tenant.ID, "nobody")
			assert.ErrorIs(t, err, ErrNotFound)
		})
	}
}

func TestJWTRejections(t *testing.T) {
	e := newEnv(t) // HS256, issuer minirag-test, audience minirag-api
	b := e.bootstrap(t, "acme")
	now := e.clock.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{
			"sub": b.Owner.ID, "tid": b.Tenant.ID, "scp": []string{"admin"},
			"iss": "minirag-test", "aud": "minirag-api",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}
		if mod != nil {
			mod(c)
		}
		return c
	}
	hs256 := hmacSign(testJWTSecret, func() crypto.Hash { return crypto.SHA256 })
	hdr := map[string]any{"alg": "HS256", "typ": "JWT"}

	// The crafted baseline is accepted, so each rejection below is due to
	// the one thing changed.
	good := craft(t, hdr, claims(nil), hs256)
	p, err := e.c.Authenticate(e.ctx, good)
	require.NoError(t, err)
	assert.Equal(t, b.Owner.ID, p.UserID)

	rsaKey := rsaFromJWK(loadRFC7515(t).Examples[1].JWK)
	pubDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)

	tampered := func() string {
		parts := strings.Split(good, ".")
		c := claims(func(m map[string]any) { m["tid"] = "another-tenant" })
		cb, _ := json.Marshal(c)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(cb) + "." + parts[2]
	}()
	sigFlipped := good[:len(good)-3] + map[bool]string{true: "A", false: "B"}[good[len(good)-3] != 'A'] + good[len(good)-2:]

	cases := map[string]string{
		"alg none":           craft(t, map[string]any{"alg": "none", "typ": "JWT"}, claims(nil), nil),
		"alg NONE":           craft(t, map[string]any{"alg": "NONE"}, claims(nil), nil),
		"alg none signed":    craft(t, map[string]any{"alg": "none"}, claims(nil), hs256),
		"HS384 same secret":  craft(t, map[string]any{"alg": "HS384"}, claims(nil), hmacSign(testJWTSecret, func() crypto.Hash { return crypto.SHA384 })),
		"HS512 same secret":  craft(t, map[string]any{"alg": "HS512"}, claims(nil), hmacSign(testJWTSecret, func() crypto.Hash { return crypto.SHA512 })),
		"RS256 token":        craft(t, map[string]any{"alg": "RS256"}, claims(nil), func(in string) []byte { s, _ := jwt.SigningMethodRS256.Sign(in, rsaKey); return s }),
		"EdDSA token":        craft(t, map[string]any{"alg": "EdDSA"}, claims(nil), func(in string) []byte { s, _ := jwt.SigningMethodEdDSA.Sign(in, edPriv); return s }),
		"HS256 other secret": craft(t, hdr, claims(nil), hmacSign([]byte("another-secret-another-secret-xx"), func() crypto.Hash { return crypto.SHA256 })),
		"tampered payload":   tampered,
		"tampered signature": sigFlipped,
		"expired":            craft(t, hdr, claims(func(m map[string]any) { m["exp"] = now.Add(-time.Minute).Unix() }), hs256),
		"missing exp":        craft(t, hdr, claims(func(m map[string]any) { delete(m, "exp") }), hs256),
		"not yet valid":      craft(t, hdr, claims(func(m map[string]any) { m["nbf"] = now.Add(time.Hour).Unix() }), hs256),
		"wrong issuer":       craft(t, hdr, claims(func(m map[string]any) { m["iss"] = "evil" }), hs256),
		"missing issuer":     craft(t, hdr, claims(func(m map[string]any) { delete(m, "iss") }), hs256),
		"wrong audience":     craft(t, hdr, claims(func(m map[string]any) { m["aud"] = "other-api" }), hs256),
		"missing audience":   craft(t, hdr, claims(func(m map[string]any) { delete(m, "aud") }), hs256),
		"unknown tenant":     craft(t, hdr, claims(func(m map[string]any) { m["tid"] = "no-such-tenant" }), hs256),
		"unknown user":       craft(t, hdr, claims(func(m map[string]any) { m["sub"] = "no-such-user" }), hs256),
		"no tenant":          craft(t, hdr, claims(func(m map[string]any) { delete(m, "tid") }), hs256),
		"no subject":         craft(t, hdr, claims(func(m map[string]any) { delete(m, "sub") }), hs256),
		"two parts":          good[:strings.LastIndexByte(good, '.')],
	}
	for name, tok := range cases {
		_, err := e.c.Authenticate(e.ctx, tok)
		assert.ErrorIs(t, err, ErrUnauthenticated, name)
		if err != nil {
			assert.NotContains(t, err.Error(), tok, name)
		}
	}

	// HS256 signed with the RSA public key against an RS256 configuration
	// (the key-confusion attack).
	rs := newEnv(t, func(c *Config) { c.JWT = JWTConfig{Algorithm: JWTRS256, RSAPublicKey: &rsaKey.PublicKey} })
	rb := rs.bootstrap(t, "acme")
	conf := craft(t, hdr, map[string]any{"sub": rb.Owner.ID, "tid": rb.Tenant.ID, "scp": []string{"admin"}, "exp": now.Add(time.Hour).Unix()},
		hmacSign(pubPEM, func() crypto.Hash { return crypto.SHA256 }))
	_, err = rs.c.Authenticate(rs.ctx, conf)
	assert.ErrorIs(t, err, ErrUnauthenticated)
	conf = craft(t, hdr, map[string]any{"sub": rb.Owner.ID, "tid": rb.Tenant.ID, "scp": []string{"admin"}, "exp": now.Add(time.Hour).Unix()},
		hmacSign(pubDER, func() crypto.Hash { return crypto.SHA256 }))
	_, err = rs.c.Authenticate(rs.ctx, conf)
	assert.ErrorIs(t, err, ErrUnauthenticated)
	_, err = rs.c.IssueSession(rs.ctx, rb.Tenant.ID, rb.Owner.ID)
	assert.ErrorIs(t, err, ErrJWTDisabled)
}

func TestJWTDisabled(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.JWT = JWTConfig{} })
	b := e.bootstrap(t, "acme")
	_, err := e.c.IssueSession(e.ctx, b.Tenant.ID, b.Owner.ID)
	assert.ErrorIs(t, err, ErrJWTDisabled)
	tok := craft(t, map[string]any{"alg": "HS256"}, map[string]any{"sub": b.Owner.ID, "tid": b.Tenant.ID, "exp": time.Now().Add(time.Hour).Unix()},
		hmacSign(testJWTSecret, func() crypto.Hash { return crypto.SHA256 }))
	_, err = e.c.Authenticate(e.ctx, tok)
	assert.ErrorIs(t, err, ErrUnauthenticated)
}

func TestJWTConfigErrors(t *testing.T) {
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	secret := []byte("short-secret-value")
	for name, jc := range map[string]JWTConfig{
		"short secret":      {Secret: secret},
		"alg without key":   {Algorithm: JWTEdDSA},
		"unknown alg":       {Algorithm: "HS384", Secret: testJWTSecret},
		"none alg":          {Algorithm: "none", Secret: testJWTSecret},
		"secret with EdDSA": {Algorithm: JWTEdDSA, Ed25519PrivateKey: edPriv, Secret: testJWTSecret},
		"ed key with HS256": {Secret: testJWTSecret, Ed25519PrivateKey: edPriv},
		"RSA key for EdDSA": {Algorithm: JWTEdDSA, RSAPrivateKey: small},
		"small RSA key":     {Algorithm: JWTRS256, RSAPrivateKey: small},
		"bad ed25519 size":  {Algorithm: JWTEdDSA, Ed25519PublicKey: ed25519.PublicKey{1, 2, 3}},
	} {
		st := newEnv(t).c.store
		_, err := New(Config{Storage: st, JWT: jc})
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), string(secret), name)
		assert.NotContains(t, err.Error(), string(testJWTSecret), name)
	}
}
