package minirag

import (
	"context"
	"errors"
	"net/http"

	"github.com/minirag/minirag/record"
)

// Sentinel errors, aliases of package record's, tested with errors.Is.
// HTTPStatus maps them to status codes.
var (
	// ErrNotFound: the object does not exist in the caller's tenant (an
	// object of another tenant is not found too).
	ErrNotFound = record.ErrNotFound
	// ErrInvalidInput: bad input; the error usually holds a
	// *ValidationError naming each bad field.
	ErrInvalidInput = record.ErrInvalidInput
	// ErrUnauthenticated: a missing, malformed, unknown, revoked or expired
	// credential, a disabled user or an unknown tenant.
	ErrUnauthenticated = record.ErrUnauthenticated
	// ErrForbidden: the caller's scopes do not allow the operation.
	ErrForbidden = record.ErrForbidden
	// ErrConflict: a duplicate (slug, email) or a state that does not allow
	// the operation (such as removing the last owner).
	ErrConflict = record.ErrConflict
)

// ErrNoEncryptionKey is returned by calls that set or read bot credentials
// when Config.EncryptionKeys is empty.
var ErrNoEncryptionKey = errors.New("minirag: no encryption key configured (Config.EncryptionKeys)")

// ErrJWTDisabled is returned by IssueSession when Config.JWT configures no
// signing key.
var ErrJWTDisabled = errors.New("minirag: JWT sessions are not configured (Config.JWT)")

// ValidationError lists the bad fields of an input; it matches
// ErrInvalidInput. Use errors.As to read the fields.
type ValidationError = record.ValidationError

// FieldError is one bad field of a ValidationError.
type FieldError = record.FieldError

// HTTPStatus maps an error of this package to the HTTP status a host
// should answer: 200 for nil, 404 ErrNotFound, 422 ErrInvalidInput, 401
// ErrUnauthenticated, 403 ErrForbidden, 409 ErrConflict, 429
// ErrQuotaExceeded (RetryAfter gives the Retry-After), 504 for a context
// deadline, 499 (client closed request) for a cancelled context, and 500
// for anything else.
func HTTPStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrInvalidInput):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrQuotaExceeded):
		return http.StatusTooManyRequests
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return 499
	default:
		return http.StatusInternalServerError
	}
}
