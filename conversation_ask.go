package minirag

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minirag/minirag/chunk"
	"github.com/minirag/minirag/internal/id"
	"github.com/minirag/minirag/llm"
	"github.com/minirag/minirag/record"
)

// Follow-up rewriting.
const (
	// rewriteInstructions is the system message of the rewrite call.
	rewriteInstructions = `You rewrite the user's last question into a standalone search query for a document search engine.
Use the conversation only to resolve what the question refers to (pronouns, "it", "that", omitted subjects).
Answer with the query alone, on one line, in the language of the question: no quotes, no explanation.`
	// rewriteMaxTokens bounds the rewritten query.
	rewriteMaxTokens = 64
	// rewriteTurns is how many past messages the rewrite call sees.
	rewriteTurns = 6
	// rewriteContextChars bounds each past message given to the rewrite
	// call, in characters.
	rewriteContextChars = 1000
	// titleChars bounds a title made from the first question.
	titleChars = 80
	// storeTimeout bounds the write of a turn after the answer (it is not
	// cancelled with the caller's context).
	storeTimeout = 15 * time.Second
)

// askConversation loads the conversation req continues: its bot becomes
// req.BotID when that is empty (another bot is bad input), and its stored
// messages req.History (history given with a conversation is bad input).
// Failed answers, and the questions they failed to answer, are left out
// of the history.
func (h *TenantHandle) askConversation(ctx context.Context, req *AskRequest) (*Conversation, error) {
	if req.ConversationID == "" {
		return nil, nil
	}
	c, err := h.conversation(ctx, "ask", req.ConversationID)
	if err != nil {
		return nil, err
	}
	var v record.ValidationError
	switch {
	case req.BotID == "":
		req.BotID = c.BotID
	case req.BotID != c.BotID:
		v.Add("bot_id", "is not the bot of the conversation (leave it empty)")
	}
	if len(req.History) > 0 {
		v.Add("history", "must be empty with conversation_id (the conversation's messages are the history)")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	msgs, err := h.c.store.ListMessages(ctx, h.p.TenantID, c.ID, historyMessages)
	if err != nil {
		return nil, fmt.Errorf("minirag: ask: conversation history: %w", err)
	}
	for i := 0; i < len(msgs); i++ {
		m := msgs[i]
		if m.Role == MessageUser && i+1 < len(msgs) && msgs[i+1].Role == MessageAssistant && msgs[i+1].Status == MessageFailed {
			i++ // the question and its failed answer
			continue
		}
		if m.Status == MessageFailed || m.Content == "" {
			continue
		}
		role := llm.RoleUser
		if m.Role == MessageAssistant {
			role = llm.RoleAssistant
		}
		req.History = append(req.History, llm.Message{Role: role, Content: m.Content})
	}
	return &c, nil
}

// followUpQuery is the search query of a question asked after history:
// with a bot that rewrites follow-ups and can call its model, the model's
// rewrite (one short call; model is the bot's, built once for the ask);
// otherwise, or when the call fails, the last user message's words
// followed by the question's. It returns the query and the model.
func (h *TenantHandle) followUpQuery(ctx context.Context, bot Bot, req AskRequest, extractive bool) (string, llm.Model) {
	var last string
	for i := len(req.History) - 1; i >= 0; i-- {
		if req.History[i].Role == llm.RoleUser {
			last = req.History[i].Content
			break
		}
	}
	fallback := req.Question
	if last != "" {
		fallback = truncateBytes(oneLine(last)+" "+req.Question, maxQueryBytes)
	}
	if !bot.RewriteFollowUps || extractive || botCanCall(bot) != "" {
		return fallback, nil
	}
	model, err := h.c.chatModel(ctx, bot)
	if err != nil {
		h.c.log.LogAttrs(ctx, slogWarn, "follow-up not rewritten", attrTenant(h.p.TenantID), attrBot(bot.ID), attrErr(err))
		return fallback, nil
	}
	var b strings.Builder
	b.WriteString("Conversation:\n")
	hist := req.History[max(0, len(req.History)-rewriteTurns):]
	for _, m := range hist {
		who := "User"
		if m.Role == llm.RoleAssistant {
			who = "Assistant"
		}
		b.WriteString(who)
		b.WriteString(": ")
		b.WriteString(truncateRunes(oneLine(m.Content), rewriteContextChars))
		b.WriteString("\n")
	}
	b.WriteString("\nLast question: ")
	b.WriteString(req.Question)
	llmReq := llm.Request{Model: bot.Model, Temperature: llm.Temperature(0), MaxTokens: rewriteMaxTokens, Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: rewriteInstructions},
		{Role: llm.RoleUser, Content: b.String()},
	}}
	resp, err := model.Chat(ctx, llmReq)
	if err != nil {
		h.c.log.LogAttrs(ctx, slogWarn, "follow-up not rewritten", attrTenant(h.p.TenantID), attrBot(bot.ID), attrErr(err))
		return fallback, model
	}
	h.meterChat(ctx, bot, UsageRewrite, llmReq, resp.Content, resp.Usage, resp.Model)
	q := strings.TrimSpace(resp.Content)
	if i := strings.IndexByte(q, '\n'); i >= 0 {
		q = strings.TrimSpace(q[:i])
	}
	q = strings.Trim(q, "\"'`“”")
	q = strings.TrimSpace(strings.TrimPrefix(q, "Query:"))
	if q == "" || !utf8.ValidString(q) {
		return fallback, model
	}
	return truncateBytes(q, maxQueryBytes), model
}

// meterChat records a model call in the usage ledger: the provider's
// token counts, else counted with the tokenizer.
func (h *TenantHandle) meterChat(ctx context.Context, bot Bot, kind UsageKind, req llm.Request, out string, u Usage, model string) Usage {
	if u.PromptTokens == 0 && u.CompletionTokens == 0 {
		u = countUsage(req, out)
	}
	if model == "" {
		model = bot.Model
	}
	h.c.recordUsage(ctx, record.Usage{TenantID: h.p.TenantID, BotID: bot.ID, Model: model, Kind: kind, Requests: 1,
		InputTokens: int64(u.PromptTokens), OutputTokens: int64(u.CompletionTokens)})
	return u
}

// countUsage counts a call's tokens with the cl100k_base tokenizer as
// OpenAI counts chat messages.
func countUsage(req llm.Request, out string) Usage {
	tok, err := chunk.NewTokenizer(chunk.Cl100kBase)
	if err != nil {
		return Usage{}
	}
	in := 3 // reply priming
	for _, m := range req.Messages {
		in += tok.Count(m.Content) + messageOverhead
	}
	n := tok.Count(out)
	return Usage{PromptTokens: in, CompletionTokens: n, TotalTokens: in + n}
}

// finishAsk is what happens after an ask, whatever its end: the model
// call is metered, and, in a conversation, the question and the answer
// (complete, incomplete with what was written, or failed) are appended in
// one write, not cancelled with ctx. It sets a's ConversationID and
// MessageID. cause is why the answer is incomplete or failed.
func (h *TenantHandle) finishAsk(ctx context.Context, p *preparedAsk, a *Answer, status record.MessageStatus, cause error) {
	if p.model != nil && (status == MessageComplete || a.Text != "") {
		u := h.meterChat(ctx, p.bot, UsageChat, p.llmReq, a.Text, a.Usage, a.Model)
		if a.Usage.TotalTokens == 0 {
			p.counted = u
		}
	}
	if p.conv == nil {
		return
	}
	now := h.c.now()
	q := ConversationMessage{ID: id.New(), Role: MessageUser, Content: p.question, Status: MessageComplete, CreatedAt: p.start}
	if p.query != p.question {
		q.Query = p.query
	}
	ans := ConversationMessage{ID: id.New(), Role: MessageAssistant, Content: a.Text, Status: status, Model: a.Model,
		LatencyMS: time.Since(p.startMono).Milliseconds(), Extractive: a.Extractive, CreatedAt: now,
		PromptTokens: a.Usage.PromptTokens, CompletionTokens: a.Usage.CompletionTokens}
	if a.Usage.TotalTokens == 0 {
		ans.PromptTokens, ans.CompletionTokens = p.counted.PromptTokens, p.counted.CompletionTokens
	}
	if cause != nil {
		ans.Error = truncateRunes(cause.Error(), 500)
	}
	for _, c := range a.Citations {
		mc := MessageCitation{Marker: c.Marker, ChunkID: c.ChunkID, DocumentID: c.DocumentID, SourceID: c.SourceID,
			DocumentTitle: c.DocumentTitle, URI: c.URI, Snippet: c.Snippet}
		if c.Marker >= 1 && c.Marker <= len(a.Passages) {
			mc.Score = a.Passages[c.Marker-1].Score
		}
		ans.Citations = append(ans.Citations, mc)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if _, err := h.c.store.AppendMessages(wctx, h.p.TenantID, p.conv.ID, []ConversationMessage{q, ans}, now); err != nil {
		h.c.log.LogAttrs(ctx, slogWarn, "conversation turn not stored", attrTenant(h.p.TenantID), attrBot(p.bot.ID),
			attrConversation(p.conv.ID), attrErr(err))
		return
	}
	a.ConversationID, a.MessageID = p.conv.ID, ans.ID
	if p.conv.Title == "" && p.conv.MessageCount == 0 {
		if err := h.c.store.RenameConversation(wctx, h.p.TenantID, p.conv.ID, truncateRunes(oneLine(p.question), titleChars), now); err != nil {
			h.c.log.LogAttrs(ctx, slogWarn, "conversation title not set", attrTenant(h.p.TenantID), attrConversation(p.conv.ID), attrErr(err))
		}
	}
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n])) + "…"
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
