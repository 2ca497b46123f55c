// Package llm defines Model, the chat-completion interface MiniRAG answers
// questions with, and the plain types of its requests and answers.
//
// Implementations: llm/openai (any OpenAI-compatible chat endpoint:
// OpenAI, a LiteLLM proxy, Ollama, vLLM).
//
// # Streaming
//
// Model.Stream returns a Go iterator (iter.Seq2[Delta, error]) that does
// nothing until ranged over:
//
//	for d, err := range model.Stream(ctx, req) {
//		if err != nil {
//			return err // the stream is over
//		}
//		if d.Done {
//			log.Println(d.FinishReason, d.Usage.TotalTokens)
//			break
//		}
//		fmt.Print(d.Content)
//	}
//
// It yields zero or more content deltas, then either one final Delta with
// Done set (carrying the finish reason and the token usage) or one error,
// and stops. Breaking out of the loop, or cancelling ctx, ends the call and
// releases its connection; nothing keeps running in the background. The
// iterator is single-use: ranging over it again makes another call.
// Collect gathers a stream into a Response.
package llm

import (
	"context"
	"errors"
	"iter"
	"strconv"
	"strings"

	"github.com/minirag/minirag/record"
)

// Role is the author of a message.
type Role string

// Roles of chat messages.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Message is one message of a conversation.
type Message struct {
	Role    Role   `json:"role"`
	Content string `json:"content"`
}

// Request is one chat call.
type Request struct {
	// Model names the model, for example "gpt-4o-mini" or "llama3.2".
	// An implementation may have a default for an empty Model.
	Model string
	// Messages is the conversation, oldest first; usually a system prompt,
	// then alternating user and assistant messages, ending with the user's
	// question.
	Messages []Message
	// Temperature, when not nil, is the sampling temperature (0 is the most
	// deterministic); nil leaves the provider's default.
	Temperature *float64
	// MaxTokens, when > 0, bounds the tokens of the answer; 0 leaves the
	// provider's default.
	MaxTokens int
}

// Temperature returns a pointer to t, for Request.Temperature.
func Temperature(t float64) *float64 { return &t }

// Validate checks what every implementation needs: at least one message,
// known roles, a non-negative MaxTokens and a Temperature in [0, 2]. It
// fails with record.ErrInvalidInput naming the field.
func (r Request) Validate() error {
	var v record.ValidationError
	if len(r.Messages) == 0 {
		v.Add("messages", "at least one message is required")
	}
	for i, m := range r.Messages {
		switch m.Role {
		case RoleSystem, RoleUser, RoleAssistant:
		default:
			v.Add("messages["+strconv.Itoa(i)+"].role", "must be system, user or assistant")
		}
	}
	if r.MaxTokens < 0 {
		v.Add("max_tokens", "must not be negative")
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2) {
		v.Add("temperature", "must be between 0 and 2")
	}
	return v.Err()
}

// Usage counts the tokens of a call, as the provider reported them (zero
// when it did not).
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Finish reasons (Response.FinishReason, Delta.FinishReason) as OpenAI
// names them; other providers may use others.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishContentFilter = "content_filter"
)

// Response is the answer of a non-streamed call.
type Response struct {
	// Content is the assistant's answer.
	Content string
	// FinishReason says why the answer ended: FinishStop, FinishLength
	// (MaxTokens reached) or another provider-specific reason.
	FinishReason string
	// Usage is the token usage.
	Usage Usage
	// Model is the model that answered, as the provider named it.
	Model string
}

// Delta is one element of a stream: a piece of content, or, when Done,
// the end of the answer with its finish reason and usage.
type Delta struct {
	// Content is the next piece of the answer (empty when Done).
	Content string
	// Done marks the final Delta.
	Done bool
	// FinishReason is set on the final Delta.
	FinishReason string
	// Usage is set on the final Delta (zero when the provider did not
	// report it).
	Usage Usage
	// Model is set on the final Delta: the model that answered.
	Model string
}

// Model is a chat model. Implementations are safe for concurrent use.
type Model interface {
	// Chat sends req and returns the whole answer.
	Chat(ctx context.Context, req Request) (Response, error)
	// Stream sends req when the returned iterator is ranged over, and
	// yields the answer as it arrives (see the package documentation).
	Stream(ctx context.Context, req Request) iter.Seq2[Delta, error]
}

// ErrIncomplete reports a stream that ended without its final Delta.
var ErrIncomplete = errors.New("llm: stream ended before the answer was complete")

// ErrBadResponse reports an answer that could not be used (for example one
// with no choices).
var ErrBadResponse = errors.New("llm: bad response from model")

// Collect ranges over a stream and returns the whole answer. It fails with
// the stream's error, or ErrIncomplete when the stream stopped without a
// final Delta.
func Collect(stream iter.Seq2[Delta, error]) (Response, error) {
	var b strings.Builder
	for d, err := range stream {
		if err != nil {
			return Response{}, err
		}
		if d.Done {
			return Response{Content: b.String(), FinishReason: d.FinishReason, Usage: d.Usage, Model: d.Model}, nil
		}
		b.WriteString(d.Content)
	}
	return Response{}, ErrIncomplete
}
