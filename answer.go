package minirag

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minirag/minirag/chunk"
	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/internal/telemetry"
	"github.com/minirag/minirag/llm"
	"github.com/minirag/minirag/llm/openai"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
)

// Message is one turn of a conversation's history (AskRequest.History):
// Role is llm.RoleUser or llm.RoleAssistant.
type Message = llm.Message

// Usage counts the tokens of a model call as the provider reported them.
type Usage = llm.Usage

// ChatModelFunc builds the chat model a bot answers with (Config.ChatModel).
// It is called once per Ask with the bot and its credentials, decrypted for
// this call only: use them to build the model and do not keep, log or
// return them.
type ChatModelFunc func(ctx context.Context, bot Bot, cred Credentials) (llm.Model, error)

// ErrBotNotConfigured is returned by Ask and AskStream for a bot that
// cannot call a model (no Model, or no credentials and no BaseURL) and is
// not configured for an extractive answer (Bot.ExtractiveFallback). It
// matches ErrInvalidInput too; the message names the bot and what it lacks.
var ErrBotNotConfigured = fmt.Errorf("minirag: bot cannot answer: %w", ErrInvalidInput)

// ErrModelCall wraps the errors of the bot's model call in Ask and
// AskStream (the provider's answer, a network error, a stream cut short),
// so that a host can tell them from its own errors (a 502 rather than a
// 500). The wrapped error stays reachable with errors.Is and errors.As.
var ErrModelCall = errors.New("minirag: the bot's model call failed")

// NoPassagesAnswer is Answer.Text when retrieval found nothing, or when an
// extractive answer finds no passage holding a word of the question: the
// model is not called then (a grounded model could only say the same, and
// the call would cost tokens for nothing). A host tells this case by
// len(Answer.Passages) == 0.
const NoPassagesAnswer = "I could not find anything about this in the available sources."

// Defaults of AskRequest.
const (
	// DefaultAskTopK is the number of passages retrieved when
	// AskRequest.TopK is 0.
	DefaultAskTopK = 6
	// DefaultMaxContextTokens bounds the prompt (instructions, passages,
	// history and question) when AskRequest.MaxContextTokens is 0.
	DefaultMaxContextTokens = 6000
	// maxAskTopK bounds AskRequest.TopK.
	maxAskTopK = 50
	// maxQuestionLen bounds the question, in characters.
	maxQuestionLen = 8000
	// maxHistory bounds the number of history messages.
	maxHistory = 100
	// minContextTokens is the smallest MaxContextTokens accepted.
	minContextTokens = 256
	// messageOverhead is the tokens a chat message costs beyond its text
	// (role and separators), as OpenAI counts them.
	messageOverhead = 4
	// snippetLen bounds Citation.Snippet, in characters.
	snippetLen = 300
	// extractiveSentences is the most sentences an extractive answer holds.
	extractiveSentences = 3
)

// groundingInstructions follow the bot's system prompt.
const groundingInstructions = `Answer the user's question using only the numbered passages in their message.
Cite every statement with the number of the passage it comes from, in square brackets, such as [1] or [2][3].
If the passages do not contain the answer, say that you could not find it in the available sources; do not answer from general knowledge.
Answer in the language of the question.`

// AskRequest is one question to a bot (TenantHandle.Ask, AskStream).
type AskRequest struct {
	// BotID is the bot that answers (required unless ConversationID is
	// set): its system prompt, model and credentials, and the sources
	// attached to it.
	BotID string `json:"bot_id"`
	// ConversationID, when set, continues a stored conversation (see
	// TenantHandle.CreateConversation): its bot answers, its messages are
	// the history (History must be empty), a follow-up question is made
	// into a standalone search query (see Bot.RewriteFollowUps), and the
	// question and the answer are appended to it. See Ask.
	ConversationID string `json:"conversation_id,omitempty"`
	// Question is the user's question (required, at most 8000
	// characters). It is also the search query unless Query is set.
	Question string `json:"question"`
	// Query, when set, is searched instead of Question: for example a
	// follow-up question the host rewrote to stand on its own ("and the
	// team plan?" → "price of the team plan"). The model still gets
	// Question.
	Query string `json:"query,omitempty"`
	// History is the conversation so far, oldest first: user and
	// assistant messages only (at most 100). The most recent turns that
	// fit the token budget are sent to the model; it is not searched.
	History []Message `json:"history,omitempty"`
	// TopK is the number of passages retrieved (0 means DefaultAskTopK;
	// at most 50). Fewer reach the model when they do not fit the budget.
	TopK int `json:"top_k,omitempty"`
	// SourceIDs, when set, limits retrieval to these sources of the bot
	// (at most 1000).
	SourceIDs []string `json:"source_ids,omitempty"`
	// Mode is the retrieval mode; empty means hybrid.
	Mode SearchMode `json:"mode,omitempty"`
	// Fusion is how hybrid retrieval merges its two rankings (see
	// SearchRequest.Fusion); empty means the embedder's default.
	Fusion Fusion `json:"fusion,omitempty"`
	// MaxContextTokens bounds the prompt sent to the model, counted with
	// the cl100k_base tokenizer: instructions, passages, history and
	// question (0 means DefaultMaxContextTokens; at least 256). The
	// answer's own tokens are bounded by the bot's MaxTokens.
	MaxContextTokens int `json:"max_context_tokens,omitempty"`
	// Extractive asks for an extractive answer (sentences of the best
	// passages, cited) without calling the model, whatever the bot's
	// configuration.
	Extractive bool `json:"extractive,omitempty"`
	// Filter, when not zero, limits retrieval to chunks of documents
	// whose Metadata match it (see SearchRequest.Filter). An invalid
	// filter is ErrInvalidInput naming "filter".
	Filter filter.Filter `json:"filter,omitzero"`
}

// Passage is a retrieved chunk as it was given to the model, numbered
// from 1 in the order of retrieval.
type Passage struct {
	// Marker is the passage's number n, cited as [n].
	Marker        int      `json:"marker"`
	ChunkID       string   `json:"chunk_id"`
	DocumentID    string   `json:"document_id"`
	SourceID      string   `json:"source_id"`
	DocumentTitle string   `json:"document_title"`
	URI           string   `json:"uri,omitempty"`
	HeadingPath   []string `json:"heading_path,omitempty"`
	// Text is the chunk's text (cut short when only part of it fit the
	// token budget).
	Text string `json:"text"`
	// Score is the retrieval score.
	Score float64 `json:"score"`
}

// Citation is a passage the answer cites with its marker [n].
type Citation struct {
	Marker        int    `json:"marker"`
	ChunkID       string `json:"chunk_id"`
	DocumentID    string `json:"document_id"`
	DocumentTitle string `json:"document_title"`
	URI           string `json:"uri,omitempty"`
	SourceID      string `json:"source_id"`
	// HeadingPath is the passage's heading path (see Passage).
	HeadingPath []string `json:"heading_path,omitempty"`
	// Location says where in the document the passage lies: its page
	// (PDF), slide (PPTX), sheet and rows (XLSX) or row (CSV, JSON Lines),
	// as [loader.Location] reads it from HeadingPath; empty for documents
	// without such locations.
	Location string `json:"location,omitempty"`
	// Snippet is the beginning of the passage's text (at most 300
	// characters).
	Snippet string `json:"snippet"`
}

// Answer is a bot's answer to an AskRequest.
type Answer struct {
	// Text is the answer, with [n] markers citing Passages.
	Text string `json:"text"`
	// Citations are the passages Text cites, each once, in the order of
	// their first marker. A marker with no passage of that number is
	// ignored.
	Citations []Citation `json:"citations"`
	// Passages are the passages given to the model (or to the extractive
	// answer), in marker order; empty when retrieval found nothing.
	Passages []Passage `json:"passages"`
	// Usage is the model's token usage (zero for an extractive answer or
	// when the provider did not report it).
	Usage Usage `json:"usage"`
	// Model is the model that answered, as the provider named it (the
	// bot's Model when the provider did not say; empty when no model was
	// called).
	Model string `json:"model,omitempty"`
	// FinishReason is the model's (llm.FinishStop, llm.FinishLength…);
	// empty when no model was called.
	FinishReason string `json:"finish_reason,omitempty"`
	// Extractive is set when the answer was built from the passages
	// without a model.
	Extractive bool `json:"extractive"`
	// Query is the search query when it was not the question (a
	// follow-up made standalone, or AskRequest.Query).
	Query string `json:"query,omitempty"`
	// ConversationID and MessageID name the conversation and the stored
	// answer (for PutFeedback) when the ask continued a conversation.
	ConversationID string `json:"conversation_id,omitempty"`
	MessageID      string `json:"message_id,omitempty"`
}

// AskDelta is one element of an AskStream: a piece of the answer's text,
// or, when Done, the end of the stream with the complete Answer.
type AskDelta struct {
	// Content is the next piece of Answer.Text (empty when Done).
	Content string `json:"content,omitempty"`
	// Done marks the final element.
	Done bool `json:"done,omitempty"`
	// Answer is set on the final element: the whole answer with its
	// citations, passages and usage.
	Answer *Answer `json:"answer,omitempty"`
}

// Ask answers a question with the bot's model, grounded in passages
// retrieved from the bot's sources (Search, hybrid by default):
//
//  1. The question is searched; the results are numbered [1]..[n].
//  2. Passages (best first) and the most recent history turns are fitted
//     into MaxContextTokens; a passage that does not fit whole is cut, and
//     at least part of the best one is always sent.
//  3. The model gets a system message (the bot's SystemPrompt, then
//     instructions to answer only from the passages, cite them as [n],
//     and say when they do not hold the answer), the history, and a user
//     message holding the passages and the question. The bot's Model,
//     Temperature, MaxTokens and BaseURL, and its credentials (API key
//     and extra headers, decrypted for this call only), configure it.
//  4. Answer.Citations maps the markers the answer contains to chunks
//     and documents.
//
// When retrieval finds nothing, the model is not called and the Answer's
// Text is NoPassagesAnswer. A bot with no Model, or with neither
// credentials nor a BaseURL, gets an extractive answer when its
// ExtractiveFallback is set, and ErrBotNotConfigured otherwise. The
// extractive answer is at most three sentences of the passages, those
// holding the most distinct words of the question (stop words left out),
// each followed by its passage's marker [n]; when no sentence holds one,
// the first sentence of the best passage whose title or headings do.
// When no passage holds any word of the question (an off-topic question,
// since retrieval always returns the nearest passages), its Text is
// NoPassagesAnswer with no citation and no passage. An
// inactive bot is ErrConflict. Needs the admin scope, or the query scope
// allowing the bot (ErrForbidden otherwise).
func (h *TenantHandle) Ask(ctx context.Context, req AskRequest) (a Answer, err error) {
	ctx, end := h.startAsk(ctx, req, false)
	defer func() { end(&a, err) }()
	p, err := h.prepareAsk(ctx, req)
	if err != nil {
		return Answer{}, err
	}
	if p.done != nil {
		a := *p.done
		h.finishAsk(ctx, p, &a, MessageComplete, nil)
		return a, nil
	}
	resp, err := p.model.Chat(ctx, p.llmReq)
	if err != nil {
		err = fmt.Errorf("%w: bot %s: %w", ErrModelCall, p.bot.ID, err)
		h.finishAsk(ctx, p, &Answer{Passages: p.passages, Model: p.bot.Model}, MessageFailed, err)
		return Answer{}, err
	}
	a = p.answer(resp.Content, resp.FinishReason, resp.Usage, resp.Model)
	h.finishAsk(ctx, p, &a, MessageComplete, nil)
	h.logAnswer(ctx, p, a)
	return a, nil
}

// AskStream is Ask with the answer streamed as it is written. It returns
// a Go iterator, in the style of llm.Model.Stream, that does nothing until
// ranged over:
//
//	for d, err := range h.AskStream(ctx, req) {
//		if err != nil {
//			return err // the stream is over
//		}
//		if d.Done {
//			show(d.Answer.Citations)
//			break
//		}
//		fmt.Print(d.Content)
//	}
//
// It yields zero or more content deltas, then either one final AskDelta
// with Done set and the complete Answer (text, citations, passages,
// usage), or one error, and stops. Errors found before the model is
// called (bad input, scopes, a bot that cannot answer, retrieval) come as
// the first and only element. An extractive answer, or NoPassagesAnswer,
// comes as one content delta followed by the final element. Breaking out
// of the loop, or cancelling ctx, ends the model call and releases its
// connection. The iterator is single-use: ranging over it again asks again.
func (h *TenantHandle) AskStream(ctx context.Context, req AskRequest) iter.Seq2[AskDelta, error] {
	return h.traceAskStream(ctx, req, func(ctx context.Context, yield func(AskDelta, error) bool) {
		p, err := h.prepareAsk(ctx, req)
		if err != nil {
			yield(AskDelta{}, err)
			return
		}
		if p.done != nil {
			a := *p.done
			h.finishAsk(ctx, p, &a, MessageComplete, nil)
			if yield(AskDelta{Content: a.Text}, nil) {
				yield(AskDelta{Done: true, Answer: &a}, nil)
			}
			return
		}
		var b strings.Builder
		// A stream that does not reach its end (the reader stopped, the
		// model call failed) is stored as such in a conversation.
		cause := errStreamStopped
		defer func() {
			if cause == nil {
				return
			}
			status := MessageIncomplete
			if b.Len() == 0 {
				status = MessageFailed
			}
			a := p.answer(b.String(), "", Usage{}, "")
			h.finishAsk(ctx, p, &a, status, cause)
		}()
		for d, err := range p.model.Stream(ctx, p.llmReq) {
			if err != nil {
				cause = fmt.Errorf("%w: bot %s: %w", ErrModelCall, p.bot.ID, err)
				yield(AskDelta{}, cause)
				return
			}
			if d.Done {
				cause = nil
				a := p.answer(b.String(), d.FinishReason, d.Usage, d.Model)
				h.finishAsk(ctx, p, &a, MessageComplete, nil)
				h.logAnswer(ctx, p, a)
				yield(AskDelta{Done: true, Answer: &a}, nil)
				return
			}
			if d.Content == "" {
				continue
			}
			b.WriteString(d.Content)
			if !yield(AskDelta{Content: d.Content}, nil) {
				return
			}
		}
		cause = fmt.Errorf("%w: bot %s: %w", ErrModelCall, p.bot.ID, llm.ErrIncomplete)
		yield(AskDelta{}, cause)
	})
}

// CollectAnswer ranges over an AskStream and returns its Answer, or the
// stream's error (llm.ErrIncomplete when it stopped without its final
// element).
func CollectAnswer(stream iter.Seq2[AskDelta, error]) (Answer, error) {
	for d, err := range stream {
		if err != nil {
			return Answer{}, err
		}
		if d.Done && d.Answer != nil {
			return *d.Answer, nil
		}
	}
	return Answer{}, fmt.Errorf("minirag: %w", llm.ErrIncomplete)
}

// preparedAsk is an Ask up to the model call.
type preparedAsk struct {
	bot      Bot
	passages []Passage
	model    llm.Model
	llmReq   llm.Request
	// done is the whole answer when no model is called (extractive, or no
	// passages).
	done *Answer
	// conv is the conversation continued (nil without one); question and
	// query what was asked and searched; start and startMono when
	// (conversation_ask.go); counted the tokens counted when the provider
	// reported none.
	conv             *Conversation
	question, query  string
	start, startMono time.Time
	counted          Usage
}

// errStreamStopped is the cause stored with an answer whose reader
// stopped before its end.
var errStreamStopped = errors.New("minirag: the stream was stopped before the answer was complete")

// answer builds the Answer of a model's text.
func (p *preparedAsk) answer(text, finish string, u Usage, model string) Answer {
	if model == "" {
		model = p.bot.Model
	}
	a := Answer{
		Text:         text,
		Citations:    citations(text, p.passages),
		Passages:     p.passages,
		Usage:        u,
		Model:        model,
		FinishReason: finish,
	}
	if p.query != p.question {
		a.Query = p.query
	}
	return a
}

func (h *TenantHandle) logAnswer(ctx context.Context, p *preparedAsk, a Answer) {
	h.c.log.LogAttrs(ctx, slogDebug, "answered",
		attrTenant(h.p.TenantID), attrBot(p.bot.ID),
		slog.Int("passages", len(a.Passages)), slog.Int("citations", len(a.Citations)),
		slog.Bool("extractive", a.Extractive), slog.Int("total_tokens", a.Usage.TotalTokens))
}

// validateAsk checks req and fills in its defaults.
func validateAsk(req *AskRequest) error {
	var v record.ValidationError
	if req.BotID == "" && req.ConversationID == "" {
		v.Add("bot_id", "is required")
	}
	req.Question = strings.TrimSpace(req.Question)
	switch {
	case req.Question == "":
		v.Add("question", "is required")
	case !utf8.ValidString(req.Question):
		v.Add("question", "must be valid UTF-8")
	case utf8.RuneCountInString(req.Question) > maxQuestionLen:
		v.Add("question", fmt.Sprintf("must be at most %d characters", maxQuestionLen))
	}
	req.Query = strings.TrimSpace(req.Query)
	if utf8.RuneCountInString(req.Query) > maxQuestionLen {
		v.Add("query", fmt.Sprintf("must be at most %d characters", maxQuestionLen))
	}
	if len(req.History) > maxHistory {
		v.Add("history", fmt.Sprintf("must hold at most %d messages", maxHistory))
	}
	for i, m := range req.History {
		if m.Role != llm.RoleUser && m.Role != llm.RoleAssistant {
			v.Add("history["+strconv.Itoa(i)+"].role", "must be user or assistant")
		}
		if !utf8.ValidString(m.Content) {
			v.Add("history["+strconv.Itoa(i)+"].content", "must be valid UTF-8")
		}
	}
	switch {
	case req.TopK < 0 || req.TopK > maxAskTopK:
		v.Add("top_k", fmt.Sprintf("must be between 0 and %d", maxAskTopK))
	case req.TopK == 0:
		req.TopK = DefaultAskTopK
	}
	switch {
	case req.MaxContextTokens == 0:
		req.MaxContextTokens = DefaultMaxContextTokens
	case req.MaxContextTokens < minContextTokens:
		v.Add("max_context_tokens", fmt.Sprintf("must be 0 (the default) or at least %d", minContextTokens))
	}
	if err := mergeValidation(&v, req.Filter.Validate("filter")); err != nil {
		return err
	}
	return v.Err()
}

// botCanCall reports what, if anything, keeps b from calling a model.
func botCanCall(b Bot) string {
	switch {
	case b.Model == "":
		return "no model"
	case !b.HasCredentials && b.BaseURL == "":
		return "no credentials (and no base URL of a keyless endpoint)"
	}
	return ""
}

// prepareAsk checks, retrieves, fits the budget and builds the model call
// (or the whole answer when no model is needed).
func (h *TenantHandle) prepareAsk(ctx context.Context, req AskRequest) (*preparedAsk, error) {
	start, startMono := h.c.now(), time.Now()
	if req.ConversationID == "" {
		if err := h.authorizeBot(req.BotID); err != nil {
			return nil, err
		}
	}
	if err := validateAsk(&req); err != nil {
		return nil, err
	}
	conv, err := h.askConversation(ctx, &req)
	if err != nil {
		return nil, err
	}
	if err := h.authorizeBot(req.BotID); err != nil {
		return nil, err
	}
	if err := h.checkAskQuota(ctx); err != nil {
		return nil, err
	}
	bot, err := h.c.store.GetBot(ctx, h.p.TenantID, req.BotID)
	if err != nil {
		return nil, fmt.Errorf("minirag: ask: %w", err)
	}
	if !bot.Active {
		return nil, fmt.Errorf("minirag: ask: bot %s is inactive: %w", bot.ID, ErrConflict)
	}
	lack := botCanCall(bot)
	extractive := req.Extractive || (lack != "" && bot.ExtractiveFallback)
	if lack != "" && !extractive {
		return nil, fmt.Errorf("%w: bot %s has %s; configure it or set extractive_fallback", ErrBotNotConfigured, bot.ID, lack)
	}

	query := req.Query
	var model llm.Model // built by a follow-up rewrite, reused
	switch {
	case query != "":
	case conv != nil && len(req.History) > 0:
		query, model = h.followUpQuery(ctx, bot, req, extractive)
	default:
		query = req.Question
	}
	results, err := h.searchTraced(ctx, SearchRequest{BotID: bot.ID, Query: query, TopK: req.TopK, SourceIDs: req.SourceIDs, Mode: req.Mode, Fusion: req.Fusion, Filter: req.Filter}, &bot)
	if err != nil {
		return nil, err
	}
	p := &preparedAsk{bot: bot, conv: conv, question: req.Question, query: query, start: start, startMono: startMono}
	if len(results) == 0 {
		p.done = &Answer{Text: NoPassagesAnswer, Citations: []Citation{}, Passages: []Passage{}, Extractive: extractive}
		if query != req.Question {
			p.done.Query = query
		}
		return p, nil
	}
	tok, err := h.c.tokenizer()
	if err != nil {
		return nil, err
	}
	system := groundingInstructions
	if s := strings.TrimSpace(bot.SystemPrompt); s != "" {
		system = s + "\n\n" + groundingInstructions
	}
	_, psp := h.c.stage(ctx, "ask.prompt")
	fit, err := fitBudget(tok, req, system, results)
	telemetry.End(psp, err)
	if err != nil {
		return nil, err
	}
	p.passages = fit.passages
	if extractive {
		a := extractiveAnswer(query, p.passages)
		if query != req.Question {
			a.Query = query
		}
		p.done = &a
		return p, nil
	}

	if model == nil {
		if model, err = h.c.chatModel(ctx, bot); err != nil {
			return nil, err
		}
	}
	p.model = model
	msgs := make([]llm.Message, 0, len(fit.history)+2)
	msgs = append(msgs, llm.Message{Role: llm.RoleSystem, Content: system})
	msgs = append(msgs, fit.history...)
	msgs = append(msgs, llm.Message{Role: llm.RoleUser, Content: userPrompt(p.passages, req.Question)})
	p.llmReq = llm.Request{Model: bot.Model, Messages: msgs, Temperature: llm.Temperature(bot.Temperature), MaxTokens: bot.MaxTokens}
	return p, nil
}

// chatModel builds the model of bot with its credentials, decrypted for
// this call only.
func (c *Client) chatModel(ctx context.Context, bot Bot) (llm.Model, error) {
	if err := c.checkModelEndpoint(ctx, bot.BaseURL); err != nil {
		return nil, fmt.Errorf("minirag: chat model of bot %s: %w", bot.ID, err)
	}
	cred, err := c.botCredentials(ctx, bot)
	if err != nil {
		return nil, err
	}
	if c.chat != nil {
		m, err := c.chat(ctx, bot, cred)
		if err != nil {
			return nil, fmt.Errorf("minirag: chat model of bot %s: %w", bot.ID, err)
		}
		return telemetry.WrapModel(m, c.tel), nil
	}
	m, err := openai.New(openai.Config{
		BaseURL:      bot.BaseURL,
		APIKey:       cred.APIKey,
		Model:        bot.Model,
		ExtraHeaders: cred.Headers,
		HTTPClient:   c.modelHTTP,
		Logger:       c.log,
	})
	if err != nil {
		return nil, fmt.Errorf("minirag: chat model of bot %s: %w", bot.ID, err)
	}
	return telemetry.WrapModel(m, c.tel), nil
}

// tokenizer returns the prompt tokenizer (cl100k_base; package chunk
// loads its ranks once per process).
func (c *Client) tokenizer() (*chunk.Tokenizer, error) {
	t, err := chunk.NewTokenizer(chunk.Cl100kBase)
	if err != nil {
		return nil, fmt.Errorf("minirag: tokenizer: %w", err)
	}
	return t, nil
}

// fitted is what fits the budget.
type fitted struct {
	passages []Passage
	history  []llm.Message
}

// passageHeader is the line before a passage's text in the prompt.
func passageHeader(p Passage) string {
	var b strings.Builder
	b.WriteString("[")
	b.WriteString(strconv.Itoa(p.Marker))
	b.WriteString("] ")
	title := p.DocumentTitle
	if len(p.HeadingPath) > 0 {
		title = strings.Join(append([]string{title}, p.HeadingPath...), " › ")
	}
	b.WriteString(oneLine(title))
	if p.URI != "" {
		b.WriteString(" (")
		b.WriteString(oneLine(p.URI))
		b.WriteString(")")
	}
	b.WriteString("\n")
	return b.String()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// userPrompt is the final user message: the passages, then the question.
func userPrompt(ps []Passage, question string) string {
	var b strings.Builder
	b.WriteString("Passages:\n\n")
	for _, p := range ps {
		b.WriteString(passageHeader(p))
		b.WriteString(p.Text)
		b.WriteString("\n\n")
	}
	b.WriteString("Question: ")
	b.WriteString(question)
	return b.String()
}

// fitBudget numbers the results and keeps the passages and the most recent
// history that fit req.MaxContextTokens with the system prompt and the
// question. History gets at most a third of what remains after the
// system prompt and the question; passages, best first, get the rest (a
// passage that does not fit whole is cut at a word boundary when at least
// 32 tokens of room remain, and the best passage is always sent, cut if
// need be).
func fitBudget(tok *chunk.Tokenizer, req AskRequest, system string, results []SearchResult) (fitted, error) {
	const promptFrame = "Passages:\n\n" + "Question: "
	fixed := tok.Count(system) + messageOverhead + tok.Count(promptFrame) + tok.Count(req.Question) + messageOverhead + 3 // reply priming
	room := req.MaxContextTokens - fixed
	if room < 32 {
		return fitted{}, record.Invalid("question", "leaves no room for passages in max_context_tokens (shorten it, the bot's system prompt, or raise max_context_tokens)")
	}

	var out fitted
	histRoom := room / 3
	used := 0
	start := len(req.History)
	for i := len(req.History) - 1; i >= 0; i-- {
		n := tok.Count(req.History[i].Content) + messageOverhead
		if used+n > histRoom {
			break
		}
		used += n
		start = i
	}
	// A history cut in the middle of a turn starts with the user's message.
	for start < len(req.History) && req.History[start].Role != llm.RoleUser {
		used -= tok.Count(req.History[start].Content) + messageOverhead
		start++
	}
	out.history = slices.Clone(req.History[start:])
	room -= used

	for i, r := range results {
		p := passageFromResult(r)
		p.Marker = len(out.passages) + 1
		head := tok.Count(passageHeader(p)) + tok.Count("\n\n")
		n := head + tok.Count(p.Text)
		if n <= room {
			out.passages = append(out.passages, p)
			room -= n
			continue
		}
		if room-head >= 32 || i == 0 {
			keep := max(room-head, 16)
			p.Text = cutTokens(tok, p.Text, keep)
			out.passages = append(out.passages, p)
		}
		break
	}
	return out, nil
}

// cutTokens returns the longest prefix of text, ending at a word boundary
// when possible, of at most n tokens.
func cutTokens(tok *chunk.Tokenizer, text string, n int) string {
	ids := tok.Encode(text)
	if len(ids) <= n {
		return text
	}
	prefix := tok.Decode(ids[:n])
	// Decoding may end inside a character; drop an invalid tail.
	for len(prefix) > 0 && !utf8.ValidString(prefix) {
		prefix = prefix[:len(prefix)-1]
	}
	if i := strings.LastIndexFunc(prefix, unicode.IsSpace); i > len(prefix)/2 {
		prefix = prefix[:i]
	}
	return strings.TrimSpace(prefix) + " …"
}

// citations returns the passages text cites, each once, in the order of
// their first marker. It reads "[n]" and lists such as "[1, 3]" or
// "[1,2]"; numbers that name no passage are ignored.
func citations(text string, ps []Passage) []Citation {
	out := []Citation{}
	seen := make(map[int]bool)
	for _, n := range markers(text) {
		if n < 1 || n > len(ps) || seen[n] {
			continue
		}
		seen[n] = true
		p := ps[n-1]
		out = append(out, Citation{
			Marker: n, ChunkID: p.ChunkID, DocumentID: p.DocumentID, DocumentTitle: p.DocumentTitle,
			URI: p.URI, SourceID: p.SourceID, HeadingPath: p.HeadingPath, Location: loader.Location(p.HeadingPath),
			Snippet: snippet(p.Text),
		})
	}
	return out
}

// markers lists the numbers of the [n] and [n, m…] markers of text in
// order.
func markers(text string) []int {
	var out []int
	for {
		i := strings.IndexByte(text, '[')
		if i < 0 {
			return out
		}
		text = text[i+1:]
		j := strings.IndexByte(text, ']')
		if j < 0 || j > 40 {
			continue
		}
		var nums []int
		ok := true
		for part := range strings.SplitSeq(text[:j], ",") {
			n, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				ok = false
				break
			}
			nums = append(nums, n)
		}
		if ok {
			out = append(out, nums...)
			text = text[j+1:]
		}
	}
}

// snippet is the beginning of text, cut at a word boundary.
func snippet(text string) string {
	text = oneLine(text)
	if utf8.RuneCountInString(text) <= snippetLen {
		return text
	}
	cut := 0
	for i := range text {
		if cut == snippetLen {
			text = text[:i]
			break
		}
		cut++
	}
	if i := strings.LastIndexByte(text, ' '); i > len(text)/2 {
		text = text[:i]
	}
	return text + "…"
}

// extractiveAnswer answers from the passages without a model: the
// sentences holding the most distinct words of the question (best
// passages first on ties), at most three, in the order they were picked,
// each followed by its passage's marker. When no sentence holds a word of
// the question, it is the first sentence of the best passage whose title
// or headings hold one. When no passage holds any word of the question
// (an off-topic question: retrieval always returns its nearest passages),
// it is NoPassagesAnswer, with no citation and no passage.
func extractiveAnswer(question string, ps []Passage) Answer {
	terms := queryTerms(question)
	holds := func(s string) bool {
		for w := range queryTerms(s) {
			if _, ok := terms[w]; ok {
				return true
			}
		}
		return false
	}
	type cand struct {
		text   string
		marker int
		score  int
		order  int
	}
	var cands []cand
	for _, p := range ps {
		for _, s := range sentences(p.Text) {
			words := queryTerms(s)
			score := 0
			for t := range terms {
				if _, ok := words[t]; ok {
					score++
				}
			}
			cands = append(cands, cand{text: s, marker: p.Marker, score: score, order: len(cands)})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return b.score - a.score })
	var picked []cand
	for _, c := range cands {
		if c.score == 0 || len(picked) == extractiveSentences {
			break
		}
		picked = append(picked, c)
	}
	if len(picked) == 0 {
		// No sentence holds a question word: the first sentence of the
		// best passage whose title or headings do.
		slices.SortStableFunc(cands, func(a, b cand) int { return a.order - b.order })
		for _, p := range ps {
			if !holds(p.DocumentTitle + " " + strings.Join(p.HeadingPath, " ")) {
				continue
			}
			if i := slices.IndexFunc(cands, func(c cand) bool { return c.marker == p.Marker }); i >= 0 {
				picked = cands[i : i+1]
				break
			}
		}
	}
	var b strings.Builder
	for i, c := range picked {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(c.text)
		b.WriteString(" [")
		b.WriteString(strconv.Itoa(c.marker))
		b.WriteString("]")
	}
	text := b.String()
	if text == "" {
		return Answer{Text: NoPassagesAnswer, Citations: []Citation{}, Passages: []Passage{}, Extractive: true}
	}
	return Answer{Text: text, Citations: citations(text, ps), Passages: ps, Extractive: true}
}

// sentences splits a passage into the sentences an extractive answer
// picks from: the lines of a paragraph are joined and split at ".", "!"
// or "?" followed by a space; a list item, a table row (cells joined by
// ", ") and a line of code are sentences of their own; headings, table
// rules and code fences are left out, as are markdown emphasis marks. A
// table's first row is read as its header: each later row reads
// "Header: cell, Header: cell".
func sentences(text string) []string {
	var out []string
	var para strings.Builder
	add := func(s string) {
		s = strings.Join(strings.Fields(strings.NewReplacer("**", "", "__", "", "`", "").Replace(s)), " ")
		if utf8.RuneCountInString(s) >= 3 {
			out = append(out, s)
		}
	}
	flush := func() {
		p := para.String()
		para.Reset()
		for p != "" {
			end := len(p)
			for i := 0; i < len(p)-1; i++ {
				if (p[i] == '.' || p[i] == '!' || p[i] == '?') && p[i+1] == ' ' {
					end = i + 1
					break
				}
			}
			add(p[:end])
			p = strings.TrimSpace(p[end:])
		}
	}
	fence := false
	var header []string // the current table's header cells
	for line := range strings.SplitSeq(text, "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "|") {
			header = nil
		}
		switch {
		case strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~"):
			flush()
			fence = !fence
		case fence:
			add(t)
		case t == "":
			flush()
		case strings.HasPrefix(t, "#"):
			flush()
		case strings.HasPrefix(t, "|"):
			flush()
			cells := strings.Split(strings.Trim(t, "|"), "|")
			rule := true
			for i, c := range cells {
				cells[i] = strings.TrimSpace(c)
				if strings.Trim(cells[i], ":-") != "" {
					rule = false
				}
			}
			switch {
			case rule:
			case header == nil:
				header = cells
			case len(header) == len(cells):
				row := make([]string, len(cells))
				for i, c := range cells {
					row[i] = header[i] + ": " + c
				}
				add(strings.Join(row, ", "))
			default:
				add(strings.Join(cells, " | "))
			}
		case isListItem(t):
			flush()
			para.WriteString(strings.TrimSpace(strings.TrimLeft(t, "-*+>0123456789.) ")))
		default:
			if para.Len() > 0 {
				para.WriteByte(' ')
			}
			para.WriteString(strings.TrimLeft(t, "> "))
		}
	}
	flush()
	return out
}

// isListItem reports a markdown list item ("- x", "* x", "+ x", "1. x",
// "1) x") or quote ("> x").
func isListItem(t string) bool {
	if len(t) >= 2 && strings.ContainsRune("-*+>", rune(t[0])) && t[1] == ' ' {
		return true
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(t) && (t[i] == '.' || t[i] == ')') && t[i+1] == ' '
}

// stopWords are left out of query terms.
var stopWords = map[string]bool{
	"a": true, "an": true, "and": true, "are": true, "as": true, "at": true, "be": true, "by": true,
	"can": true, "do": true, "does": true, "for": true, "from": true, "how": true, "i": true, "in": true,
	"is": true, "it": true, "its": true, "of": true, "on": true, "or": true, "the": true, "this": true,
	"that": true, "to": true, "what": true, "when": true, "where": true, "which": true, "who": true,
	"why": true, "with": true, "you": true, "your": true, "my": true, "me": true, "we": true, "there": true,
}

// queryTerms returns the lowercase words of s (letters and digits, at
// least two characters, stop words left out), with a plural "s" dropped
// from words of four letters or more (so that "alerts" meets "alert").
func queryTerms(s string) map[string]struct{} {
	out := make(map[string]struct{})
	for w := range strings.FieldsFuncSeq(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if utf8.RuneCountInString(w) < 2 || stopWords[w] {
			continue
		}
		if len(w) >= 4 && w[len(w)-1] == 's' && w[len(w)-2] != 's' {
			w = w[:len(w)-1]
		}
		out[w] = struct{}{}
	}
	return out
}

// passageFromResult is a search result as a passage (Marker unset).
func passageFromResult(r SearchResult) Passage {
	return Passage{
		ChunkID: r.ChunkID, DocumentID: r.DocumentID, SourceID: r.SourceID,
		DocumentTitle: r.DocumentTitle, URI: r.URI, HeadingPath: slices.Clone(r.HeadingPath),
		Text: r.Text, Score: r.Score,
	}
}
