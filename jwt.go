package minirag

import (
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWT algorithms a JWTConfig may name.
const (
	JWTHS256 = "HS256"
	JWTEdDSA = "EdDSA"
	JWTRS256 = "RS256"
)

// Defaults of JWTConfig.
const (
	DefaultJWTTTL    = time.Hour
	DefaultJWTLeeway = 30 * time.Second
)

// JWTConfig configures JWT sessions. The algorithm is pinned: a token
// signed with any other algorithm ("none" included) is rejected. Only the
// key of the chosen algorithm may be set. With only a public key the Client
// verifies sessions but cannot issue them.
//
// Its String, GoString, LogValue and MarshalJSON methods redact keys.
type JWTConfig struct {
	// Algorithm is HS256 (the default), EdDSA or RS256.
	Algorithm string
	// Secret is the HS256 key, at least 32 bytes.
	Secret []byte
	// Ed25519PrivateKey signs EdDSA sessions; its public half verifies
	// them unless Ed25519PublicKey is set.
	Ed25519PrivateKey ed25519.PrivateKey
	// Ed25519PublicKey verifies EdDSA sessions.
	Ed25519PublicKey ed25519.PublicKey
	// RSAPrivateKey (at least 2048 bits) signs RS256 sessions; its public
	// half verifies them unless RSAPublicKey is set.
	RSAPrivateKey *rsa.PrivateKey
	// RSAPublicKey verifies RS256 sessions.
	RSAPublicKey *rsa.PublicKey
	// Issuer, when set, is written to "iss" and required on verification.
	Issuer string
	// Audience, when set, is written to "aud" and required on verification.
	Audience string
	// TTL is a session's lifetime; zero means DefaultJWTTTL.
	TTL time.Duration
	// Leeway is the clock skew allowed on exp and nbf; zero means
	// DefaultJWTLeeway, a negative value means none.
	Leeway time.Duration
}

func (j JWTConfig) enabled() bool {
	return len(j.Secret) > 0 || j.Ed25519PrivateKey != nil || j.Ed25519PublicKey != nil ||
		j.RSAPrivateKey != nil || j.RSAPublicKey != nil
}

// String describes j without its keys.
func (j JWTConfig) String() string {
	if !j.enabled() {
		return "minirag.JWTConfig{disabled}"
	}
	alg := j.Algorithm
	if alg == "" {
		alg = JWTHS256
	}
	return fmt.Sprintf("minirag.JWTConfig{Algorithm:%s, keys:[REDACTED], Issuer:%q, Audience:%q, TTL:%s, Leeway:%s}",
		alg, j.Issuer, j.Audience, j.TTL, j.Leeway)
}

// GoString describes j without its keys.
func (j JWTConfig) GoString() string { return j.String() }

// LogValue describes j without its keys.
func (j JWTConfig) LogValue() slog.Value { return slog.StringValue(j.String()) }

// MarshalJSON describes j without its keys.
func (j JWTConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(j.String())
}

// Session is a JWT issued by Client.IssueSession. Its String, GoString,
// LogValue and MarshalJSON methods redact the token: a host hands it over
// by reading the field itself.
type Session struct {
	Token     string
	ExpiresAt time.Time
}

// MarshalJSON encodes the expiry and a redacted token.
func (s Session) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}{"[REDACTED]", s.ExpiresAt})
}

// String redacts the token.
func (s Session) String() string {
	return fmt.Sprintf("minirag.Session{Token:[REDACTED], ExpiresAt:%s}", s.ExpiresAt.Format(time.RFC3339))
}

// GoString redacts the token.
func (s Session) GoString() string { return s.String() }

// LogValue redacts the token.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.Time("expires_at", s.ExpiresAt))
}

// sessionClaims are the claims of a session: sub is the user, tid the
// tenant, scp the scopes.
type sessionClaims struct {
	jwt.RegisteredClaims
	TenantID string  `json:"tid,omitempty"`
	Scopes   []Scope `json:"scp,omitempty"`
}

type jwtCodec struct {
	method    jwt.SigningMethod
	signKey   any // nil when only verifying
	verifyKey any
	issuer    string
	audience  string
	ttl       time.Duration
	parser    *jwt.Parser
}

func newJWTCodec(cfg JWTConfig, now func() time.Time) (*jwtCodec, error) {
	if !cfg.enabled() {
		if cfg.Algorithm != "" {
			return nil, fmt.Errorf("minirag: Config.JWT: Algorithm %q set without a key", cfg.Algorithm)
		}
		return nil, nil
	}
	j := &jwtCodec{issuer: cfg.Issuer, audience: cfg.Audience, ttl: cfg.TTL}
	if j.ttl <= 0 {
		j.ttl = DefaultJWTTTL
	}
	alg := cfg.Algorithm
	if alg == "" {
		alg = JWTHS256
	}
	hasEd := cfg.Ed25519PrivateKey != nil || cfg.Ed25519PublicKey != nil
	hasRSA := cfg.RSAPrivateKey != nil || cfg.RSAPublicKey != nil
	hasHS := len(cfg.Secret) > 0
	switch alg {
	case JWTHS256:
		if hasEd || hasRSA {
			return nil, errors.New("minirag: Config.JWT: only Secret may be set for HS256")
		}
		if len(cfg.Secret) < 32 {
			return nil, errors.New("minirag: Config.JWT.Secret must be at least 32 bytes")
		}
		key := append([]byte(nil), cfg.Secret...)
		j.method, j.signKey, j.verifyKey = jwt.SigningMethodHS256, key, key
	case JWTEdDSA:
		if hasHS || hasRSA {
			return nil, errors.New("minirag: Config.JWT: only Ed25519 keys may be set for EdDSA")
		}
		j.method = jwt.SigningMethodEdDSA
		if cfg.Ed25519PrivateKey != nil {
			if len(cfg.Ed25519PrivateKey) != ed25519.PrivateKeySize {
				return nil, errors.New("minirag: Config.JWT.Ed25519PrivateKey has the wrong size")
			}
			j.signKey = cfg.Ed25519PrivateKey
			j.verifyKey = cfg.Ed25519PrivateKey.Public()
		}
		if cfg.Ed25519PublicKey != nil {
			if len(cfg.Ed25519PublicKey) != ed25519.PublicKeySize {
				return nil, errors.New("minirag: Config.JWT.Ed25519PublicKey has the wrong size")
			}
			j.verifyKey = cfg.Ed25519PublicKey
		}
	case JWTRS256:
		if hasHS || hasEd {
			return nil, errors.New("minirag: Config.JWT: only RSA keys may be set for RS256")
		}
		j.method = jwt.SigningMethodRS256
		if cfg.RSAPrivateKey != nil {
			if cfg.RSAPrivateKey.N.BitLen() < 2048 {
				return nil, errors.New("minirag: Config.JWT.RSAPrivateKey must be at least 2048 bits")
			}
			j.signKey = cfg.RSAPrivateKey
			j.verifyKey = &cfg.RSAPrivateKey.PublicKey
		}
		if cfg.RSAPublicKey != nil {
			if cfg.RSAPublicKey.N.BitLen() < 2048 {
				return nil, errors.New("minirag: Config.JWT.RSAPublicKey must be at least 2048 bits")
			}
			j.verifyKey = cfg.RSAPublicKey
		}
	default:
		return nil, fmt.Errorf("minirag: Config.JWT.Algorithm must be HS256, EdDSA or RS256 (got %q)", cfg.Algorithm)
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = DefaultJWTLeeway
	} else if leeway < 0 {
		leeway = 0
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{j.method.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
	}
	if j.issuer != "" {
		opts = append(opts, jwt.WithIssuer(j.issuer))
	}
	if j.audience != "" {
		opts = append(opts, jwt.WithAudience(j.audience))
	}
	j.parser = jwt.NewParser(opts...)
	return j, nil
}

// sign issues a session token.
func (j *jwtCodec) sign(tenantID, userID, tokenID string, scopes []Scope, now time.Time) (Session, error) {
	if j == nil || j.signKey == nil {
		return Session{}, ErrJWTDisabled
	}
	exp := now.Add(j.ttl).Truncate(time.Second)
	c := sessionClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    j.issuer,
			Subject:   userID,
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        tokenID,
		},
		TenantID: tenantID,
		Scopes:   scopes,
	}
	if j.audience != "" {
		c.Audience = jwt.ClaimStrings{j.audience}
	}
	s, err := jwt.NewWithClaims(j.method, c).SignedString(j.signKey)
	if err != nil {
		return Session{}, fmt.Errorf("minirag: sign session: %w", err)
	}
	return Session{Token: s, ExpiresAt: exp}, nil
}

// parse verifies a token's algorithm, signature, exp, nbf, iss and aud and
// returns its claims. Its errors say why in a few words and never quote
// the token.
func (j *jwtCodec) parse(token string) (*sessionClaims, error) {
	if j == nil {
		return nil, fmt.Errorf("%w: JWT sessions are not configured", ErrUnauthenticated)
	}
	var c sessionClaims
	_, err := j.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if t.Method.Alg() != j.method.Alg() { // WithValidMethods checks it too
			return nil, errors.New("unexpected algorithm")
		}
		return j.verifyKey, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: invalid session token (%s)", ErrUnauthenticated, jwtReason(err))
	}
	return &c, nil
}

// jwtReason turns a golang-jwt error into a short reason that cannot echo
// any part of the token.
func jwtReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature or algorithm"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable: algorithm not allowed"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim is missing"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "used before issued"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	default:
		return "invalid"
	}
}
