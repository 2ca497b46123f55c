package storagetest

import (
	"fmt"
	"sync"
	"time"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// newConv creates a conversation of the bot.
func (f *fixture) newConv(tenantID, botID, userID, endUserID string) record.Conversation {
	f.t.Helper()
	id := f.id("cnv")
	ts := f.tick()
	c := record.Conversation{ID: id, TenantID: tenantID, BotID: botID, UserID: userID, EndUserID: endUserID,
		Title: "About " + id, CreatedAt: ts, UpdatedAt: ts}
	f.must(f.s.CreateConversation(f.ctx, c), "CreateConversation")
	return c
}

// turn is a question and its answer, ready to append.
func (f *fixture) turn(q, a string) []record.ConversationMessage {
	return []record.ConversationMessage{
		{ID: f.id("msg"), Role: record.MessageUser, Content: q, Status: record.MessageComplete, Query: "query: " + q, CreatedAt: f.tick()},
		{ID: f.id("msg"), Role: record.MessageAssistant, Content: a, Status: record.MessageComplete, Model: "gpt-test",
			LatencyMS: 1234, PromptTokens: 321, CompletionTokens: 45, CreatedAt: f.tick(),
			Citations: []record.MessageCitation{{Marker: 1, ChunkID: "chk-1", DocumentID: "doc-1", SourceID: "src-1",
				DocumentTitle: "Guide", URI: "https://example.com/guide", Snippet: "alerting rules…", Score: 0.75}}},
	}
}

// testConversations: create (bot reference, conflicts), get, rename,
// append with sequence numbers and counts, list messages (all, last n),
// get message, list newest first with filters and paging, delete
// cascading to messages and feedback, tenant isolation and empty tenants.
func testConversations(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	bot := f.newBot(ten.ID)
	bot2 := f.newBot(ten.ID)
	user := f.newUser(ten.ID)

	c := f.newConv(ten.ID, bot.ID, user.ID, "")
	got, err := s.GetConversation(ctx, ten.ID, c.ID)
	f.must(err, "GetConversation")
	f.equal("GetConversation", c, got)
	f.wantErr(s.CreateConversation(ctx, c), record.ErrConflict, "CreateConversation with a used ID")
	f.wantField(s.CreateConversation(ctx, record.Conversation{ID: f.id("cnv"), TenantID: ten.ID, BotID: "no-such-bot",
		CreatedAt: f.tick(), UpdatedAt: f.tick()}), "bot_id", "CreateConversation with an unknown bot")

	// Append: sequence numbers follow, the count and UpdatedAt move.
	t1 := f.turn("How do alerts fire?", "Alerting rules fire alerts [1].")
	at1 := f.tick()
	stored, err := s.AppendMessages(ctx, ten.ID, c.ID, t1, at1)
	f.must(err, "AppendMessages")
	if len(stored) != 2 || stored[0].Seq != 1 || stored[1].Seq != 2 {
		f.t.Fatalf("AppendMessages: got %d messages with seqs %v, want 1 and 2", len(stored), ids(stored, func(m record.ConversationMessage) string { return fmt.Sprint(m.Seq) }))
	}
	t2 := f.turn("And recording rules?", "They precompute [1].")
	t2[1].Status, t2[1].Error = record.MessageIncomplete, "stream cut off"
	t2[1].Citations = nil
	stored2, err := s.AppendMessages(ctx, ten.ID, c.ID, t2, f.tick())
	f.must(err, "AppendMessages (second turn)")
	if stored2[0].Seq != 3 || stored2[1].Seq != 4 {
		f.t.Errorf("AppendMessages: second turn seqs %d, %d; want 3, 4", stored2[0].Seq, stored2[1].Seq)
	}
	all, err := s.ListMessages(ctx, ten.ID, c.ID, 0)
	f.must(err, "ListMessages")
	want := append(append([]record.ConversationMessage{}, stored...), stored2...)
	for i := range want {
		want[i].TenantID, want[i].ConversationID = ten.ID, c.ID
	}
	f.equal("ListMessages", want, all)
	last, err := s.ListMessages(ctx, ten.ID, c.ID, 3)
	f.must(err, "ListMessages last 3")
	f.equal("ListMessages last 3", want[1:], last)
	m, err := s.GetMessage(ctx, ten.ID, want[1].ID)
	f.must(err, "GetMessage")
	f.equal("GetMessage", want[1], m)
	got, err = s.GetConversation(ctx, ten.ID, c.ID)
	f.must(err, "GetConversation after appends")
	if got.MessageCount != 4 {
		f.t.Errorf("MessageCount after two turns: %d, want 4", got.MessageCount)
	}
	if !got.UpdatedAt.After(at1) {
		f.t.Errorf("UpdatedAt after appends: %v, want after %v", got.UpdatedAt, at1)
	}
	dup := f.turn("again", "again")
	dup[1].ID = want[0].ID
	_, err = s.AppendMessages(ctx, ten.ID, c.ID, dup, f.tick())
	f.wantErr(err, record.ErrConflict, "AppendMessages with a used message ID")
	after, err := s.ListMessages(ctx, ten.ID, c.ID, 0)
	f.must(err, "ListMessages after a failed append")
	if len(after) != 4 {
		f.t.Errorf("a failed append stored %d messages, want none (4 in all)", len(after)-4)
	}
	got, _ = s.GetConversation(ctx, ten.ID, c.ID)
	if got.MessageCount != 4 {
		f.t.Errorf("MessageCount after a failed append: %d, want 4", got.MessageCount)
	}

	// Rename.
	ren := f.tick()
	f.must(s.RenameConversation(ctx, ten.ID, c.ID, "Alerts", ren), "RenameConversation")
	got, _ = s.GetConversation(ctx, ten.ID, c.ID)
	if got.Title != "Alerts" || !got.UpdatedAt.Equal(ren.Truncate(time.Microsecond)) {
		f.t.Errorf("after RenameConversation: title %q, updated %v; want Alerts, %v", got.Title, got.UpdatedAt, ren)
	}

	// Listing: newest (UpdatedAt) first, filters, pages.
	visitor := f.newConv(ten.ID, bot.ID, "", "visitor-1")
	other := f.newConv(ten.ID, bot2.ID, user.ID, "")
	// c was updated by the rename before visitor and other were created.
	list, err := s.ListConversations(ctx, storage.ConversationQuery{TenantID: ten.ID})
	f.must(err, "ListConversations")
	f.sameIDs("ListConversations (newest first)", []string{other.ID, visitor.ID, c.ID}, ids(list, convID))
	list, err = s.ListConversations(ctx, storage.ConversationQuery{TenantID: ten.ID, BotID: bot.ID})
	f.must(err, "ListConversations by bot")
	f.sameIDs("ListConversations by bot", []string{visitor.ID, c.ID}, ids(list, convID))
	list, err = s.ListConversations(ctx, storage.ConversationQuery{TenantID: ten.ID, EndUserID: "visitor-1"})
	f.must(err, "ListConversations by end user")
	f.sameIDs("ListConversations by end user", []string{visitor.ID}, ids(list, convID))
	list, err = s.ListConversations(ctx, storage.ConversationQuery{TenantID: ten.ID, UserID: user.ID})
	f.must(err, "ListConversations by user")
	f.sameIDs("ListConversations by user", []string{other.ID, c.ID}, ids(list, convID))
	page, err := s.ListConversations(ctx, storage.ConversationQuery{TenantID: ten.ID, Limit: 2})
	f.must(err, "ListConversations page 1")
	f.sameIDs("ListConversations page 1", []string{other.ID, visitor.ID}, ids(page, convID))
	if len(page) == 2 {
		page, err = s.ListConversations(ctx, storage.ConversationQuery{TenantID: ten.ID, Limit: 2,
			BeforeUpdatedAt: page[1].UpdatedAt, BeforeID: page[1].ID})
		f.must(err, "ListConversations page 2")
		f.sameIDs("ListConversations page 2", []string{c.ID}, ids(page, convID))
	}

	// Another tenant sees nothing.
	ten2 := f.newTenant()
	f.wantErr(errOf(s.GetConversation(ctx, ten2.ID, c.ID)), record.ErrNotFound, "GetConversation of another tenant")
	f.wantErr(s.RenameConversation(ctx, ten2.ID, c.ID, "x", f.tick()), record.ErrNotFound, "RenameConversation of another tenant")
	f.wantErr(errOf(s.AppendMessages(ctx, ten2.ID, c.ID, f.turn("q", "a"), f.tick())), record.ErrNotFound, "AppendMessages to another tenant's conversation")
	f.wantErr(errOf(s.ListMessages(ctx, ten2.ID, c.ID, 0)), record.ErrNotFound, "ListMessages of another tenant's conversation")
	f.wantErr(errOf(s.GetMessage(ctx, ten2.ID, want[0].ID)), record.ErrNotFound, "GetMessage of another tenant")
	f.wantErr(s.DeleteConversation(ctx, ten2.ID, c.ID), record.ErrNotFound, "DeleteConversation of another tenant")
	f.wantField(s.CreateConversation(ctx, record.Conversation{ID: f.id("cnv"), TenantID: ten2.ID, BotID: bot.ID,
		CreatedAt: f.tick(), UpdatedAt: f.tick()}), "bot_id", "CreateConversation with another tenant's bot")
	list, err = s.ListConversations(ctx, storage.ConversationQuery{TenantID: ten2.ID})
	f.must(err, "ListConversations of another tenant")
	if len(list) != 0 {
		f.t.Errorf("ListConversations of another tenant: %d conversations, want none", len(list))
	}

	// Empty tenant.
	f.wantField(s.CreateConversation(ctx, record.Conversation{ID: f.id("cnv"), BotID: bot.ID}), "tenant_id", "CreateConversation without tenant")
	f.wantField(errOf(s.GetConversation(ctx, "", c.ID)), "tenant_id", "GetConversation without tenant")
	f.wantField(errOf(s.ListConversations(ctx, storage.ConversationQuery{})), "tenant_id", "ListConversations without tenant")
	f.wantField(s.RenameConversation(ctx, "", c.ID, "x", f.tick()), "tenant_id", "RenameConversation without tenant")
	f.wantField(s.DeleteConversation(ctx, "", c.ID), "tenant_id", "DeleteConversation without tenant")
	f.wantField(errOf(s.AppendMessages(ctx, "", c.ID, nil, f.tick())), "tenant_id", "AppendMessages without tenant")
	f.wantField(errOf(s.ListMessages(ctx, "", c.ID, 0)), "tenant_id", "ListMessages without tenant")
	f.wantField(errOf(s.GetMessage(ctx, "", want[0].ID)), "tenant_id", "GetMessage without tenant")

	// Delete takes the messages and their feedback along.
	_, err = s.PutFeedback(ctx, record.Feedback{ID: f.id("fbk"), TenantID: ten.ID, BotID: bot.ID, ConversationID: c.ID,
		MessageID: want[1].ID, Rating: -1, CreatedAt: f.tick(), UpdatedAt: f.tick()})
	f.must(err, "PutFeedback")
	f.must(s.DeleteConversation(ctx, ten.ID, c.ID), "DeleteConversation")
	f.wantErr(errOf(s.GetConversation(ctx, ten.ID, c.ID)), record.ErrNotFound, "GetConversation after delete")
	f.wantErr(errOf(s.GetMessage(ctx, ten.ID, want[0].ID)), record.ErrNotFound, "GetMessage after its conversation was deleted")
	fb, err := s.ListFeedback(ctx, storage.FeedbackQuery{TenantID: ten.ID})
	f.must(err, "ListFeedback after delete")
	if len(fb) != 0 {
		f.t.Errorf("feedback of a deleted conversation: %d left, want none", len(fb))
	}
	f.wantErr(s.DeleteConversation(ctx, ten.ID, c.ID), record.ErrNotFound, "DeleteConversation again")
}

func convID(c record.Conversation) string { return c.ID }

// errOf keeps the error of a two-valued call.
func errOf[T any](_ T, err error) error { return err }

// testConcurrentAppends: appends to one conversation from many goroutines
// (connections) are all stored, each turn with consecutive sequence
// numbers, none shared.
func testConcurrentAppends(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	bot := f.newBot(ten.ID)
	c := f.newConv(ten.ID, bot.ID, "", "visitor")
	const writers, each = 8, 3
	turns := make([][][]record.ConversationMessage, writers)
	for w := range turns {
		for range each {
			turns[w] = append(turns[w], f.turn("q", "a"))
		}
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, t := range turns[w] {
				got, err := s.AppendMessages(ctx, ten.ID, c.ID, t, time.Now())
				if err != nil {
					f.t.Errorf("concurrent AppendMessages: %v", err)
					continue
				}
				if got[1].Seq != got[0].Seq+1 {
					f.t.Errorf("concurrent AppendMessages: a turn got seqs %d and %d, want consecutive", got[0].Seq, got[1].Seq)
				}
			}
		}()
	}
	wg.Wait()
	msgs, err := s.ListMessages(ctx, ten.ID, c.ID, 0)
	f.must(err, "ListMessages")
	if len(msgs) != writers*each*2 {
		f.t.Fatalf("after concurrent appends: %d messages, want %d", len(msgs), writers*each*2)
	}
	for i, m := range msgs {
		if m.Seq != i+1 {
			f.t.Fatalf("after concurrent appends: message %d has seq %d, want %d", i, m.Seq, i+1)
		}
		if (m.Role == record.MessageUser) != (i%2 == 0) {
			f.t.Fatalf("after concurrent appends: message %d is %s: turns were interleaved", i, m.Role)
		}
	}
	got, err := s.GetConversation(ctx, ten.ID, c.ID)
	f.must(err, "GetConversation")
	if got.MessageCount != writers*each*2 {
		f.t.Errorf("MessageCount after concurrent appends: %d, want %d", got.MessageCount, writers*each*2)
	}
}

// testFeedback: one feedback per message (a second replaces it, keeping
// ID and CreatedAt), listing by bot and rating, newest first, with pages;
// a message of another tenant or conversation is not found.
func testFeedback(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	bot := f.newBot(ten.ID)
	bot2 := f.newBot(ten.ID)
	c := f.newConv(ten.ID, bot.ID, "", "visitor")
	c2 := f.newConv(ten.ID, bot2.ID, "", "visitor")
	m1, err := s.AppendMessages(ctx, ten.ID, c.ID, f.turn("q1", "a1"), f.tick())
	f.must(err, "AppendMessages")
	m2, err := s.AppendMessages(ctx, ten.ID, c.ID, f.turn("q2", "a2"), f.tick())
	f.must(err, "AppendMessages")
	m3, err := s.AppendMessages(ctx, ten.ID, c2.ID, f.turn("q3", "a3"), f.tick())
	f.must(err, "AppendMessages")

	fb1 := record.Feedback{ID: f.id("fbk"), TenantID: ten.ID, BotID: bot.ID, ConversationID: c.ID, MessageID: m1[1].ID,
		Rating: 1, Comment: "clear", EndUserID: "visitor", CreatedAt: f.tick(), UpdatedAt: f.tick()}
	got, err := s.PutFeedback(ctx, fb1)
	f.must(err, "PutFeedback")
	f.equal("PutFeedback", fb1, got)
	again := fb1
	again.ID, again.Rating, again.Comment, again.CreatedAt, again.UpdatedAt = f.id("fbk"), -1, "wrong after all", f.tick(), f.tick()
	got, err = s.PutFeedback(ctx, again)
	f.must(err, "PutFeedback again")
	want1 := fb1
	want1.Rating, want1.Comment, want1.UpdatedAt = -1, "wrong after all", again.UpdatedAt
	f.equal("PutFeedback replacing", want1, got)
	fb2 := record.Feedback{ID: f.id("fbk"), TenantID: ten.ID, BotID: bot.ID, ConversationID: c.ID, MessageID: m2[1].ID,
		Rating: 1, CreatedAt: f.tick(), UpdatedAt: f.tick()}
	_, err = s.PutFeedback(ctx, fb2)
	f.must(err, "PutFeedback 2")
	fb3 := record.Feedback{ID: f.id("fbk"), TenantID: ten.ID, BotID: bot2.ID, ConversationID: c2.ID, MessageID: m3[1].ID,
		Rating: -1, CreatedAt: f.tick(), UpdatedAt: f.tick()}
	_, err = s.PutFeedback(ctx, fb3)
	f.must(err, "PutFeedback 3")

	all, err := s.ListFeedback(ctx, storage.FeedbackQuery{TenantID: ten.ID})
	f.must(err, "ListFeedback")
	f.sameIDs("ListFeedback (newest first)", []string{fb3.ID, fb2.ID, fb1.ID}, ids(all, fbID))
	byBot, err := s.ListFeedback(ctx, storage.FeedbackQuery{TenantID: ten.ID, BotID: bot.ID})
	f.must(err, "ListFeedback by bot")
	f.sameIDs("ListFeedback by bot", []string{fb2.ID, fb1.ID}, ids(byBot, fbID))
	if len(byBot) == 2 {
		f.equal("ListFeedback item", want1, byBot[1])
	}
	down, err := s.ListFeedback(ctx, storage.FeedbackQuery{TenantID: ten.ID, Rating: -1})
	f.must(err, "ListFeedback thumbs down")
	f.sameIDs("ListFeedback thumbs down", []string{fb3.ID, fb1.ID}, ids(down, fbID))
	page, err := s.ListFeedback(ctx, storage.FeedbackQuery{TenantID: ten.ID, Limit: 2})
	f.must(err, "ListFeedback page 1")
	f.sameIDs("ListFeedback page 1", []string{fb3.ID, fb2.ID}, ids(page, fbID))
	if len(page) == 2 {
		page, err = s.ListFeedback(ctx, storage.FeedbackQuery{TenantID: ten.ID, Limit: 2, BeforeUpdatedAt: page[1].UpdatedAt, BeforeID: page[1].ID})
		f.must(err, "ListFeedback page 2")
		f.sameIDs("ListFeedback page 2", []string{fb1.ID}, ids(page, fbID))
	}

	// A message of another conversation or tenant is not found.
	wrong := fb2
	wrong.ID, wrong.ConversationID = f.id("fbk"), c2.ID
	f.wantErr(errOf(s.PutFeedback(ctx, wrong)), record.ErrNotFound, "PutFeedback naming another conversation")
	ten2 := f.newTenant()
	wrong = fb2
	wrong.ID, wrong.TenantID = f.id("fbk"), ten2.ID
	f.wantErr(errOf(s.PutFeedback(ctx, wrong)), record.ErrNotFound, "PutFeedback on another tenant's message")
	other, err := s.ListFeedback(ctx, storage.FeedbackQuery{TenantID: ten2.ID})
	f.must(err, "ListFeedback of another tenant")
	if len(other) != 0 {
		f.t.Errorf("ListFeedback of another tenant: %d items, want none", len(other))
	}
	f.wantField(errOf(s.PutFeedback(ctx, record.Feedback{ID: f.id("fbk"), MessageID: m1[1].ID})), "tenant_id", "PutFeedback without tenant")
	f.wantField(errOf(s.ListFeedback(ctx, storage.FeedbackQuery{})), "tenant_id", "ListFeedback without tenant")
}

func fbID(fb record.Feedback) string { return fb.ID }

// testUsage: additions accumulate per (day, bot, model, kind), concurrent
// ones included; ListUsage filters by days and bot; CountRequest admits
// exactly the limit, concurrently too, per window and tenant;
// CountContent counts documents and chunks.
func testUsage(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	ten2 := f.newTenant()
	day1 := time.Date(2026, 5, 1, 13, 14, 15, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	add := func(u record.Usage) {
		f.t.Helper()
		f.must(s.AddUsage(ctx, u), "AddUsage")
	}
	add(record.Usage{TenantID: ten.ID, BotID: "bot-a", Model: "gpt-x", Kind: record.UsageChat, Day: day1, Requests: 1, InputTokens: 100, OutputTokens: 10})
	add(record.Usage{TenantID: ten.ID, BotID: "bot-a", Model: "gpt-x", Kind: record.UsageChat, Day: day1.Add(time.Hour), Requests: 1, InputTokens: 50, OutputTokens: 5})
	add(record.Usage{TenantID: ten.ID, BotID: "bot-a", Model: "emb", Kind: record.UsageEmbed, Day: day1, Requests: 1, InputTokens: 7})
	add(record.Usage{TenantID: ten.ID, BotID: "bot-b", Model: "gpt-x", Kind: record.UsageChat, Day: day2, Requests: 2, InputTokens: 30, OutputTokens: 3})
	add(record.Usage{TenantID: ten2.ID, BotID: "bot-a", Model: "gpt-x", Kind: record.UsageChat, Day: day1, Requests: 9, InputTokens: 900})

	const writers, each = 8, 5
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := s.AddUsage(ctx, record.Usage{TenantID: ten.ID, BotID: "bot-b", Model: "gpt-x", Kind: record.UsageChat, Day: day2,
					Requests: 1, InputTokens: 10, OutputTokens: 1}); err != nil {
					f.t.Errorf("concurrent AddUsage: %v", err)
				}
			}
		}()
	}
	wg.Wait()

	d1 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	rows, err := s.ListUsage(ctx, storage.UsageQuery{TenantID: ten.ID, From: d1, To: d2.AddDate(0, 0, 1)})
	f.must(err, "ListUsage")
	f.equal("ListUsage", []record.Usage{
		{TenantID: ten.ID, BotID: "bot-a", Model: "emb", Kind: record.UsageEmbed, Day: d1, Requests: 1, InputTokens: 7},
		{TenantID: ten.ID, BotID: "bot-a", Model: "gpt-x", Kind: record.UsageChat, Day: d1, Requests: 2, InputTokens: 150, OutputTokens: 15},
		{TenantID: ten.ID, BotID: "bot-b", Model: "gpt-x", Kind: record.UsageChat, Day: d2, Requests: 2 + writers*each,
			InputTokens: 30 + 10*writers*each, OutputTokens: 3 + writers*each},
	}, rows)
	rows, err = s.ListUsage(ctx, storage.UsageQuery{TenantID: ten.ID, From: d2})
	f.must(err, "ListUsage from day 2")
	if len(rows) != 1 || rows[0].BotID != "bot-b" {
		f.t.Errorf("ListUsage from day 2: %v, want bot-b's row only", rows)
	}
	rows, err = s.ListUsage(ctx, storage.UsageQuery{TenantID: ten.ID, From: d1, To: d2})
	f.must(err, "ListUsage of day 1")
	if len(rows) != 2 {
		f.t.Errorf("ListUsage of day 1: %d rows, want 2", len(rows))
	}
	rows, err = s.ListUsage(ctx, storage.UsageQuery{TenantID: ten.ID, BotID: "bot-b"})
	f.must(err, "ListUsage of bot-b")
	if len(rows) != 1 || rows[0].BotID != "bot-b" {
		f.t.Errorf("ListUsage of bot-b: %v, want its row only", rows)
	}
	rows, err = s.ListUsage(ctx, storage.UsageQuery{TenantID: ten2.ID})
	f.must(err, "ListUsage of tenant 2")
	if len(rows) != 1 || rows[0].Requests != 9 {
		f.t.Errorf("ListUsage of tenant 2: %v, want its one row", rows)
	}
	f.wantField(s.AddUsage(ctx, record.Usage{Model: "x"}), "tenant_id", "AddUsage without tenant")
	f.wantField(errOf(s.ListUsage(ctx, storage.UsageQuery{})), "tenant_id", "ListUsage without tenant")

	// Request windows.
	w1 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	const limit = 5
	var mu sync.Mutex
	counted := 0
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.CountRequest(ctx, ten.ID, w1, limit)
			if err != nil {
				f.t.Errorf("concurrent CountRequest: %v", err)
				return
			}
			if ok {
				mu.Lock()
				counted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if counted != limit {
		f.t.Errorf("12 concurrent CountRequest with limit %d: %d counted, want %d", limit, counted, limit)
	}
	ok, err := s.CountRequest(ctx, ten2.ID, w1, limit)
	f.must(err, "CountRequest tenant 2")
	if !ok {
		f.t.Error("CountRequest: another tenant's full window refused tenant 2")
	}
	ok, err = s.CountRequest(ctx, ten.ID, w1.Add(time.Minute), limit)
	f.must(err, "CountRequest next window")
	if !ok {
		f.t.Error("CountRequest: the next window refused the first request")
	}
	f.wantField(errOf(s.CountRequest(ctx, "", w1, limit)), "tenant_id", "CountRequest without tenant")

	// Content counts.
	bot := f.newBot(ten.ID)
	src := f.newSource(ten.ID, bot.ID)
	f.putDoc(src, "a.md", "A", "one", "two")
	f.putDoc(src, "b.md", "B", "three")
	docs, chunks, err := s.CountContent(ctx, ten.ID)
	f.must(err, "CountContent")
	if docs != 2 || chunks != 3 {
		f.t.Errorf("CountContent: %d documents, %d chunks; want 2, 3", docs, chunks)
	}
	docs, chunks, err = s.CountContent(ctx, ten2.ID)
	f.must(err, "CountContent tenant 2")
	if docs != 0 || chunks != 0 {
		f.t.Errorf("CountContent of an empty tenant: %d, %d; want 0, 0", docs, chunks)
	}
	_, _, err = s.CountContent(ctx, "")
	f.wantField(err, "tenant_id", "CountContent without tenant")
}

// testBotFollowUpsAndRerank: a bot's RewriteFollowUps and Rerank round
// trip through CreateBot, UpdateBot and ListBots.
func testBotFollowUpsAndRerank(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	b := record.Bot{ID: f.id("bot"), TenantID: ten.ID, Name: "reranked", Model: "m", Active: true, RewriteFollowUps: true,
		Rerank:    &record.BotRerank{URL: "http://127.0.0.1:9/rerank", Model: "rerank-v3", API: "tei", TopN: 12},
		CreatedAt: f.tick(), UpdatedAt: f.tick()}
	f.must(s.CreateBot(ctx, b), "CreateBot")
	got, err := s.GetBot(ctx, ten.ID, b.ID)
	f.must(err, "GetBot")
	f.equal("GetBot (rewrite, rerank)", b, got)
	b.RewriteFollowUps, b.Rerank, b.UpdatedAt = false, nil, f.tick()
	f.must(s.UpdateBot(ctx, b), "UpdateBot")
	list, err := s.ListBots(ctx, ten.ID)
	f.must(err, "ListBots")
	if len(list) != 1 {
		f.t.Fatalf("ListBots: %d bots, want 1", len(list))
	}
	f.equal("ListBots after clearing rewrite and rerank", b, list[0])
	b.Rerank = &record.BotRerank{URL: "https://api.cohere.com/v2/rerank"}
	f.must(s.UpdateBot(ctx, b), "UpdateBot")
	got, err = s.GetBot(ctx, ten.ID, b.ID)
	f.must(err, "GetBot")
	f.equal("GetBot after setting rerank", b, got)
}
