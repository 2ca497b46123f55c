package llm_test

import (
	"errors"
	"iter"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/llm"
	"github.com/minirag/minirag/record"
)

func TestValidate(t *testing.T) {
	ok := llm.Request{Messages: []llm.Message{{Role: llm.RoleSystem, Content: "s"}, {Role: llm.RoleUser, Content: "q"}}, Temperature: llm.Temperature(0)}
	require.NoError(t, ok.Validate())

	err := llm.Request{}.Validate()
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "messages")

	err = llm.Request{Messages: []llm.Message{{Role: "robot"}}, MaxTokens: -1, Temperature: llm.Temperature(3)}.Validate()
	require.ErrorIs(t, err, record.ErrInvalidInput)
	var v *record.ValidationError
	require.ErrorAs(t, err, &v)
	var fields []string
	for _, f := range v.Fields {
		fields = append(fields, f.Field)
	}
	assert.Equal(t, []string{"messages[0].role", "max_tokens", "temperature"}, fields)
}

func seq(ds []llm.Delta, tail error) iter.Seq2[llm.Delta, error] {
	return func(yield func(llm.Delta, error) bool) {
		for _, d := range ds {
			if !yield(d, nil) {
				return
			}
		}
		if tail != nil {
			yield(llm.Delta{}, tail)
		}
	}
}

func TestCollect(t *testing.T) {
	r, err := llm.Collect(seq([]llm.Delta{{Content: "Hel"}, {Content: "lo"}, {Done: true, FinishReason: "stop", Usage: llm.Usage{1, 2, 3}, Model: "m"}}, nil))
	require.NoError(t, err)
	assert.Equal(t, llm.Response{Content: "Hello", FinishReason: "stop", Usage: llm.Usage{1, 2, 3}, Model: "m"}, r)

	boom := errors.New("boom")
	_, err = llm.Collect(seq([]llm.Delta{{Content: "x"}}, boom))
	assert.ErrorIs(t, err, boom)

	_, err = llm.Collect(seq([]llm.Delta{{Content: "x"}}, nil))
	assert.ErrorIs(t, err, llm.ErrIncomplete)
}
