package record

import "time"

// Conversation is a thread of questions and answers with one bot, kept for
// one user of the tenant (UserID) or for an end user the host identifies
// with an opaque ID of its own (EndUserID, such as a widget visitor).
type Conversation struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	BotID    string `json:"bot_id"`
	// UserID is the tenant's user who holds the conversation (empty for an
	// end user or a host's own call).
	UserID string `json:"user_id,omitempty"`
	// EndUserID is the host's opaque ID of an end user (empty when none).
	EndUserID string `json:"end_user_id,omitempty"`
	Title     string `json:"title"`
	// MessageCount is the number of messages stored; Storage keeps it.
	MessageCount int       `json:"message_count"`
	CreatedAt    time.Time `json:"created_at"`
	// UpdatedAt moves when the conversation is renamed or a message is
	// appended.
	UpdatedAt time.Time `json:"updated_at"`
}

// MessageRole is who wrote a conversation message.
type MessageRole string

// Message roles.
const (
	MessageUser      MessageRole = "user"
	MessageAssistant MessageRole = "assistant"
)

// MessageStatus tells whether an assistant message is the whole answer.
type MessageStatus string

// Message statuses.
const (
	// MessageComplete is a whole message.
	MessageComplete MessageStatus = "complete"
	// MessageIncomplete is an answer whose stream was cut off (the client
	// went away, the model call failed midway): Content is what was
	// written before.
	MessageIncomplete MessageStatus = "incomplete"
	// MessageFailed is an answer whose model call failed before writing
	// anything; Error says why.
	MessageFailed MessageStatus = "failed"
)

// MessageCitation is a passage an answer cites, with its retrieval score.
type MessageCitation struct {
	Marker        int     `json:"marker"`
	ChunkID       string  `json:"chunk_id"`
	DocumentID    string  `json:"document_id"`
	SourceID      string  `json:"source_id"`
	DocumentTitle string  `json:"document_title"`
	URI           string  `json:"uri,omitempty"`
	Snippet       string  `json:"snippet"`
	Score         float64 `json:"score"`
}

// ConversationMessage is one message of a conversation: a question or an
// answer with what produced it.
type ConversationMessage struct {
	ID             string `json:"id"`
	TenantID       string `json:"tenant_id"`
	ConversationID string `json:"conversation_id"`
	// Seq numbers the conversation's messages from 1, in order; Storage
	// sets it when appending.
	Seq     int           `json:"seq"`
	Role    MessageRole   `json:"role"`
	Content string        `json:"content"`
	Status  MessageStatus `json:"status"`
	// Error is why an answer is incomplete or failed (no secrets).
	Error string `json:"error,omitempty"`
	// Query is the search query a question was answered with when it
	// differs from the question (a rewritten follow-up).
	Query     string            `json:"query,omitempty"`
	Citations []MessageCitation `json:"citations,omitempty"`
	// Model, LatencyMS and the token counts describe the model call of an
	// answer (zero when no model was called).
	Model            string    `json:"model,omitempty"`
	LatencyMS        int64     `json:"latency_ms,omitempty"`
	PromptTokens     int       `json:"prompt_tokens,omitempty"`
	CompletionTokens int       `json:"completion_tokens,omitempty"`
	Extractive       bool      `json:"extractive,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
}

// Feedback is a rating of an answer (a conversation message of the
// assistant): thumbs up (+1) or down (-1), with an optional comment. A
// message has at most one feedback; giving it again replaces it.
type Feedback struct {
	ID             string `json:"id"`
	TenantID       string `json:"tenant_id"`
	BotID          string `json:"bot_id"`
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id"`
	// Rating is +1 (thumbs up) or -1 (thumbs down).
	Rating    int       `json:"rating"`
	Comment   string    `json:"comment,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	EndUserID string    `json:"end_user_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// UsageKind is the kind of a metered call.
type UsageKind string

// Usage kinds.
const (
	UsageChat    UsageKind = "chat"    // an answer
	UsageRewrite UsageKind = "rewrite" // a follow-up rewritten into a query
	UsageEmbed   UsageKind = "embed"   // embeddings (queries, documents)
	UsageRerank  UsageKind = "rerank"  // a rerank call
)

// Usage is the metered use of one day (UTC) by a tenant's bot of one
// model and kind: a row of the usage ledger, or, as AddUsage's argument,
// the amounts to add to it.
type Usage struct {
	TenantID string `json:"tenant_id"`
	// BotID is empty for use not tied to a bot.
	BotID string    `json:"bot_id"`
	Model string    `json:"model"`
	Kind  UsageKind `json:"kind"`
	// Day is the UTC midnight starting the day.
	Day          time.Time `json:"day"`
	Requests     int64     `json:"requests"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
}
