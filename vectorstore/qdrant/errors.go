package qdrant

import (
	"context"
	"errors"
	"fmt"
	"strings"

	qc "github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// ErrUnavailable reports a Qdrant server that could not be reached, timed
// out, or is overloaded. The error wrapping it names the address. Retrying
// later may succeed.
var ErrUnavailable = errors.New("qdrant: server unavailable")

// ErrAccessDenied reports a server that rejected the API key (missing,
// wrong, or read-only for a write). The key is never part of the message.
var ErrAccessDenied = errors.New("qdrant: access denied (check the API key)")

// ErrDistanceMismatch reports an existing collection whose distance is not
// cosine. It wraps record.ErrInvalidInput.
var ErrDistanceMismatch error = distErr{}

type distErr struct{}

func (distErr) Error() string        { return "qdrant: distance mismatch" }
func (distErr) Is(target error) bool { return target == record.ErrInvalidInput }

const (
	codeNotFound      = codes.NotFound
	codeAlreadyExists = codes.AlreadyExists
)

// grpcStatus finds the gRPC status in err's chain (the go-client wraps it
// in a *qdrant.QdrantError).
func grpcStatus(err error) (*status.Status, bool) {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return se.GRPCStatus(), true
	}
	return nil, false
}

func isCode(err error, c codes.Code) bool {
	st, ok := grpcStatus(err)
	return ok && st.Code() == c
}

// translate turns an error of the go-client into one of this package's,
// prefixed with the operation and the address, wrapping the sentinel a
// caller can branch on.
func (s *Store) translate(ctx context.Context, op string, err error) error {
	where := fmt.Sprintf("qdrant: %s on %s", op, s.addr)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", where, ctxErr)
	}
	var rex *qc.QdrantResourceExhaustedError
	if errors.As(err, &rex) {
		return fmt.Errorf("%s: rate limited, retry after %d s (%s): %w", where, rex.RetryAfterS, rex.Reason, ErrUnavailable)
	}
	st, ok := grpcStatus(err)
	if !ok {
		return fmt.Errorf("%s: %w", where, err)
	}
	msg := st.Message()
	switch st.Code() {
	case codes.InvalidArgument, codes.OutOfRange:
		if strings.Contains(msg, "dimension error") {
			return fmt.Errorf("%s: %s: %w", where, msg, vectorstore.ErrDimensionMismatch)
		}
		return fmt.Errorf("%s: %s: %w", where, msg, record.ErrInvalidInput)
	case codes.NotFound:
		return fmt.Errorf("%s: %s: %w", where, msg, record.ErrNotFound)
	case codes.AlreadyExists:
		return fmt.Errorf("%s: %s: %w", where, msg, record.ErrConflict)
	case codes.Unavailable:
		return fmt.Errorf("%s: server unreachable (%s): %w", where, msg, ErrUnavailable)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: server timed out (%s): %w", where, msg, ErrUnavailable)
	case codes.ResourceExhausted:
		return fmt.Errorf("%s: server overloaded (%s): %w", where, msg, ErrUnavailable)
	case codes.Unauthenticated, codes.PermissionDenied:
		return fmt.Errorf("%s: %s (%s): %w", where, st.Code(), msg, ErrAccessDenied)
	case codes.Canceled:
		return fmt.Errorf("%s: %w", where, context.Canceled)
	default:
		return fmt.Errorf("%s: %s: %s", where, st.Code(), msg)
	}
}
