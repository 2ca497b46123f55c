package record

import (
	"errors"
	"strings"
)

// Sentinel errors callers test with errors.Is. A host maps them to HTTP
// status codes: ErrNotFound 404, ErrInvalidInput 422, ErrUnauthenticated 401,
// ErrForbidden 403, ErrConflict 409.
var (
	// ErrNotFound reports that an object does not exist in the caller's
	// tenant. An object of another tenant is also ErrNotFound: its existence
	// is never revealed.
	ErrNotFound = errors.New("minirag: not found")
	// ErrInvalidInput reports bad input. Errors that wrap it usually also
	// carry a *ValidationError naming each bad field (use errors.As).
	ErrInvalidInput = errors.New("minirag: invalid input")
	// ErrUnauthenticated reports a missing, malformed, unknown, revoked or
	// expired credential, a disabled user or an unknown tenant.
	ErrUnauthenticated = errors.New("minirag: unauthenticated")
	// ErrForbidden reports an authenticated caller whose scopes do not allow
	// the operation.
	ErrForbidden = errors.New("minirag: forbidden")
	// ErrConflict reports a uniqueness violation (a duplicate slug or email,
	// an ID already used) or a state that does not allow the operation.
	ErrConflict = errors.New("minirag: conflict")
)

// FieldError is one bad field of an input.
type FieldError struct {
	// Field is the input's field name as a caller spells it in JSON
	// (for example "bot_id" or "config.url").
	Field string `json:"field"`
	// Message says what is wrong, without echoing secret values.
	Message string `json:"message"`
}

// ValidationError lists the bad fields of an input. It matches
// ErrInvalidInput with errors.Is.
type ValidationError struct {
	Fields []FieldError `json:"fields"`
}

// Error implements error.
func (e *ValidationError) Error() string {
	if e == nil || len(e.Fields) == 0 {
		return "minirag: invalid input"
	}
	var b strings.Builder
	b.WriteString("minirag: invalid input: ")
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Message)
	}
	return b.String()
}

// Is reports whether target is ErrInvalidInput.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidInput }

// Add appends a bad field.
func (e *ValidationError) Add(field, message string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: message})
}

// Err returns e when it holds at least one field, and nil otherwise, so that
// validation code can end with "return v.Err()".
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Invalid returns a *ValidationError for a single field.
func Invalid(field, message string) error {
	return &ValidationError{Fields: []FieldError{{Field: field, Message: message}}}
}

// ErrEmptyTenant is returned by every adapter for a call whose tenant ID is
// empty: an empty tenant is never read as "all tenants".
var ErrEmptyTenant error = &ValidationError{Fields: []FieldError{{Field: "tenant_id", Message: "is required"}}}
