// Package storagetest is the conformance suite every storage.Storage
// implementation must pass.
//
// An adapter's tests call Run with a function that returns a new, empty
// store:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Storage {
//			s, err := sqlite.Open(t.Context(), ":memory:")
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Run calls newStore once per subtest and needs each store to start with
// no data (a fresh file, a fresh schema), since it checks whole listings
// such as ListTenants. It closes each store when its subtest ends; cleanups
// newStore registers with t.Cleanup run after that, so an adapter can drop
// a schema there. Subtests run one after another; IDs and slugs differ
// between subtests and between runs.
//
// What it checks, per area: round trips of every field (nil and set
// pointers, slices, maps, JSON), not-found and conflict errors, tenant
// isolation of every entity, an empty tenant ID rejected by every
// tenant-scoped method, soft-deleted bots, the source-to-bot reference,
// a source moved to another bot taking its documents and chunks along,
// cascades, atomic document replacement, chunks scanned by tenant in
// byte-wise ID order (ScanChunks), every List…Page call (pages, order,
// cursors, stability under inserts), lexical search (ranking, filters,
// hostile query text), the job queue (claim order, leases, concurrent
// claimers, retries, payloads and trace contexts), transactions, parallel
// writers, cancelled contexts, and that returned records share no memory
// with the store. For documents as first-class objects: metadata of every
// JSON kind round-tripped, GetDocumentByKey, QueryDocumentsPage (by
// tenant, bot, source and filter, ordered by source then key, cursors
// bound to their query), metadata filters in lexical search and document
// queries checked against filter.Match over generated metadata and
// filters, UpdateTenant, and DeleteTenant erasing every record of a
// tenant and nothing of another.
//
// Optional capabilities are checked when the store offers them and their
// subtests skipped otherwise: storage.DocumentBatcher (PutDocuments: the
// same results as PutDocument one by one, all or nothing, errors that name
// the failing item, batches larger than one statement, use inside InTx); storage.JobCounter (CountJobs: queued and running jobs of
// every tenant).
//
// The suite uses only the standard library's testing package. Times are
// compared after truncation to microseconds and must come back in UTC.
// Failure messages name the method and what differed.
package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Run runs the conformance suite, one subtest per area, each on a store
// from newStore. newStore must return an empty store or fail t.
func Run(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	t.Helper()
	tag := randomTag()
	for _, area := range areas {
		t.Run(area.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("storagetest: newStore returned nil")
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			f := &fixture{t: t, s: s, ctx: t.Context(), tag: tag + "-" + strings.ReplaceAll(area.name, "/", "-")}
			area.fn(f)
		})
	}
}

// areas lists the suite's subtests.
var areas = []struct {
	name string
	fn   func(f *fixture)
}{
	{"Tenants", testTenants},
	{"Users", testUsers},
	{"APITokens", testAPITokens},
	{"Bots", testBots},
	{"BotCredentials", testBotCredentials},
	{"Sources", testSources},
	{"SourceBotReference", testSourceBotReference},
	{"UpdateSourceMovesContent", testUpdateSourceMovesContent},
	{"DeleteSourceCascades", testDeleteSourceCascades},
	{"Documents", testDocuments},
	{"PutDocumentReplace", testPutDocumentReplace},
	{"PutDocumentAtomic", testPutDocumentAtomic},
	{"PutDocuments", testPutDocuments}, // optional: storage.DocumentBatcher
	{"DocumentBotFromSource", testDocumentBotFromSource},
	{"GetChunks", testGetChunks},
	{"GetChunksWithDocuments", testGetChunksWithDocuments},
	{"ScanChunks", testScanChunks},
	{"Pages", testPages},
	{"Lexical", testLexical},
	{"LexicalHostileQueries", testLexicalHostile},
	{"LanguagePerBot", testLanguagePerBot},
	{"Jobs", testJobs},
	{"JobLeases", testJobLeases},
	{"JobCounter", testJobCounter},
	{"ConcurrentClaims", testConcurrentClaims},
	{"InTx", testInTx},
	{"ParallelWriters", testParallelWriters},
	{"TenantIsolation", testTenantIsolation},
	{"EmptyTenant", testEmptyTenant},
	{"CancelledContext", testCancelledContext},
	{"NoSharedMemory", testNoSharedMemory},
	{"Conversations", testConversations},
	{"ConcurrentAppends", testConcurrentAppends},
	{"Feedback", testFeedback},
	{"Usage", testUsage},
	{"BotFollowUpsAndRerank", testBotFollowUpsAndRerank},
	{"DocumentMetadata", testDocumentMetadata},
	{"GetDocumentByKey", testGetDocumentByKey},
	{"QueryDocumentsPage", testQueryDocumentsPage},
	{"LexicalFilter", testLexicalFilter},
	{"UpdateTenant", testUpdateTenant},
	{"DeleteTenant", testDeleteTenant},
	{"JobPayload", testJobPayload},
	// Last: an adapter that fails it may hang in its cleanup.
	{"InTxPanicRollsBack", testInTxPanic},
}

func randomTag() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// fixture creates records with unique IDs and distinct times.
type fixture struct {
	t   *testing.T
	s   storage.Storage
	ctx context.Context
	tag string
	n   int
}

// zone is a non-UTC zone for input times: stores must return UTC.
var zone = time.FixedZone("UTC+1", 3600)

// base is the first time the fixture hands out; it has nanoseconds, which
// stores may drop (the suite compares at microsecond precision).
var base = time.Date(2026, 3, 4, 5, 6, 7, 891234567, zone)

func (f *fixture) id(kind string) string {
	f.n++
	return fmt.Sprintf("%s-%s-%d", kind, f.tag, f.n)
}

// at returns base plus i minutes.
func at(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }

// tick returns a new time, later than every time it returned before.
func (f *fixture) tick() time.Time {
	f.n++
	return base.Add(time.Duration(f.n) * time.Second)
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) must(err error, what string) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// wantErr fails the test unless err wraps target.
func (f *fixture) wantErr(err, target error, what string) {
	f.t.Helper()
	if err == nil {
		f.t.Errorf("%s: got no error, want one wrapping %q", what, target)
	} else if !errors.Is(err, target) {
		f.t.Errorf("%s: got error %q, want one wrapping %q", what, err, target)
	}
}

// wantField fails the test unless err wraps record.ErrInvalidInput and
// carries a *record.ValidationError naming field.
func (f *fixture) wantField(err error, field, what string) {
	f.t.Helper()
	f.wantErr(err, record.ErrInvalidInput, what)
	var ve *record.ValidationError
	if err == nil {
		return
	}
	if !errors.As(err, &ve) {
		f.t.Errorf("%s: error %q carries no *record.ValidationError", what, err)
		return
	}
	for _, fe := range ve.Fields {
		if fe.Field == field {
			return
		}
	}
	f.t.Errorf("%s: validation error %q does not name field %q", what, err, field)
}

// equal fails the test when got differs from want (times at microsecond
// precision and in UTC, JSON compared by value, nil and empty slices and
// maps alike).
func (f *fixture) equal(what string, want, got any) {
	f.t.Helper()
	var out []string
	diff("", reflect.ValueOf(want), reflect.ValueOf(got), &out)
	if len(out) > 0 {
		f.t.Errorf("%s differs from what was stored:\n\t%s", what, strings.Join(out, "\n\t"))
	}
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage(nil))
	bytesTyp = reflect.TypeOf([]byte(nil))
)

func diff(path string, w, g reflect.Value, out *[]string) {
	name := path
	if name == "" {
		name = "value"
	}
	if w.Type() != g.Type() {
		*out = append(*out, fmt.Sprintf("%s: got type %s, want %s", name, g.Type(), w.Type()))
		return
	}
	switch {
	case w.Type() == timeType:
		wt := w.Interface().(time.Time).Truncate(time.Microsecond)
		gt := g.Interface().(time.Time)
		if !gt.Truncate(time.Microsecond).Equal(wt) {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", name, gt.UTC().Format(time.RFC3339Nano), wt.UTC().Format(time.RFC3339Nano)))
		} else if gt.Location() != time.UTC {
			*out = append(*out, fmt.Sprintf("%s: got location %q, want UTC", name, gt.Location()))
		}
		return
	case w.Type() == rawType:
		wb, gb := w.Bytes(), g.Bytes()
		if len(wb) == 0 && len(gb) == 0 {
			return
		}
		if (len(wb) == 0) != (len(gb) == 0) {
			*out = append(*out, fmt.Sprintf("%s: got %q, want %q", name, gb, wb))
			return
		}
		var wv, gv any
		if err := json.Unmarshal(gb, &gv); err != nil {
			*out = append(*out, fmt.Sprintf("%s: got invalid JSON %q", name, gb))
			return
		}
		_ = json.Unmarshal(wb, &wv)
		if !reflect.DeepEqual(wv, gv) {
			*out = append(*out, fmt.Sprintf("%s: got JSON %s, want %s", name, gb, wb))
		}
		return
	case w.Type() == bytesTyp:
		if !bytes.Equal(w.Bytes(), g.Bytes()) {
			*out = append(*out, fmt.Sprintf("%s: got %d bytes %x, want %d bytes %x", name, g.Len(), g.Bytes(), w.Len(), w.Bytes()))
		}
		return
	}
	switch w.Kind() {
	case reflect.Pointer:
		if w.IsNil() != g.IsNil() {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", name, nilOrSet(g), nilOrSet(w)))
			return
		}
		if !w.IsNil() {
			diff(path, w.Elem(), g.Elem(), out)
		}
	case reflect.Struct:
		for i := range w.NumField() {
			sf := w.Type().Field(i)
			if !sf.IsExported() {
				continue
			}
			p := sf.Name
			if path != "" {
				p = path + "." + sf.Name
			}
			diff(p, w.Field(i), g.Field(i), out)
		}
	case reflect.Slice:
		if w.Len() != g.Len() {
			*out = append(*out, fmt.Sprintf("%s: got %d elements %v, want %d %v", name, g.Len(), g.Interface(), w.Len(), w.Interface()))
			return
		}
		for i := range w.Len() {
			diff(fmt.Sprintf("%s[%d]", name, i), w.Index(i), g.Index(i), out)
		}
	case reflect.Map:
		if w.Len() != g.Len() {
			*out = append(*out, fmt.Sprintf("%s: got %v, want %v", name, g.Interface(), w.Interface()))
			return
		}
		for _, k := range w.MapKeys() {
			gv := g.MapIndex(k)
			if !gv.IsValid() {
				*out = append(*out, fmt.Sprintf("%s: key %v missing", name, k))
				continue
			}
			diff(fmt.Sprintf("%s[%v]", name, k), w.MapIndex(k), gv, out)
		}
	default:
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: got %#v, want %#v", name, g.Interface(), w.Interface()))
		}
	}
}

func nilOrSet(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	return fmt.Sprintf("%v", v.Elem().Interface())
}

// ids returns the IDs of records.
func ids[T any](l []T, id func(T) string) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = id(v)
	}
	return out
}

func (f *fixture) sameIDs(what string, want, got []string) {
	f.t.Helper()
	if strings.Join(want, ",") != strings.Join(got, ",") {
		f.t.Errorf("%s: got IDs %q, want %q", what, got, want)
	}
}

// Record builders. Each creates the record in the store and returns what
// was stored.

func (f *fixture) newTenant() record.Tenant {
	f.t.Helper()
	id := f.id("tnt")
	t := record.Tenant{ID: id, Name: "Tenant " + id, Slug: "slug-" + id, CreatedAt: f.tick(), UpdatedAt: f.tick()}
	f.must(f.s.CreateTenant(f.ctx, t), "CreateTenant")
	return t
}

func (f *fixture) newUser(tenantID string) record.User {
	f.t.Helper()
	id := f.id("usr")
	u := record.User{ID: id, TenantID: tenantID, Email: id + "@Example.COM", Name: "User " + id, Role: record.RoleMember,
		CreatedAt: f.tick(), UpdatedAt: f.tick()}
	f.must(f.s.CreateUser(f.ctx, u), "CreateUser")
	return u
}

func (f *fixture) newToken(tenantID, userID string) record.APIToken {
	f.t.Helper()
	id := f.id("tok")
	sum := []byte(id + "-hash-0123456789abcdef0123456789")
	tok := record.APIToken{ID: id, TenantID: tenantID, UserID: userID, Name: "token " + id, Prefix: "mrag_" + id[:3],
		Hash: sum, Scopes: []record.Scope{record.ScopeQuery}, BotIDs: []string{"bot-a", "bot-b"}, CreatedAt: f.tick()}
	f.must(f.s.CreateAPIToken(f.ctx, tok), "CreateAPIToken")
	return tok
}

func (f *fixture) newBot(tenantID string) record.Bot {
	f.t.Helper()
	id := f.id("bot")
	b := record.Bot{ID: id, TenantID: tenantID, Name: "Bot " + id, Description: "describes " + id,
		SystemPrompt: "You answer from the passages.", Model: "gpt-test", Temperature: 0.25, MaxTokens: 512,
		BaseURL: "http://127.0.0.1:9/v1", Active: true, ExtractiveFallback: true, Language: "english",
		CreatedAt: f.tick(), UpdatedAt: f.tick()}
	f.must(f.s.CreateBot(f.ctx, b), "CreateBot")
	return b
}

func (f *fixture) newSource(tenantID, botID string) record.Source {
	f.t.Helper()
	id := f.id("src")
	s := record.Source{ID: id, TenantID: tenantID, BotID: botID, Name: "Source " + id, Type: record.SourceText,
		Config: json.RawMessage(`{"text": "hello", "n": 1, "nested": {"list": [1, 2]}}`), Status: record.StatusPending,
		CreatedAt: f.tick(), UpdatedAt: f.tick()}
	f.must(f.s.CreateSource(f.ctx, s), "CreateSource")
	return s
}

// newDoc builds (without storing) a document of src with one chunk per
// text.
func (f *fixture) newDoc(src record.Source, key, title string, texts ...string) (record.Document, []record.Chunk) {
	id := f.id("doc")
	d := record.Document{ID: id, TenantID: src.TenantID, BotID: src.BotID, SourceID: src.ID, Key: key, Title: title,
		URI: "https://docs.example.com/" + key, ContentHash: fmt.Sprintf("%064x", f.n), ByteSize: 1234, TokenCount: 321,
		Metadata: record.Metadata{"lang": "en", "key": key}, CreatedAt: f.tick(), UpdatedAt: f.tick()}
	chunks := make([]record.Chunk, len(texts))
	off := 0
	for i, text := range texts {
		chunks[i] = record.Chunk{ID: f.id("chk"), TenantID: src.TenantID, BotID: src.BotID, SourceID: src.ID, DocumentID: id,
			Ordinal: i, Text: text, TokenCount: len(strings.Fields(text)), Start: off, End: off + len(text),
			HeadingPath: []string{title, fmt.Sprintf("Section %d", i)}}
		off += len(text) + 1
	}
	return d, chunks
}

// putDoc stores a document built by newDoc and returns the stored form.
func (f *fixture) putDoc(src record.Source, key, title string, texts ...string) (record.Document, []record.Chunk) {
	f.t.Helper()
	d, chunks := f.newDoc(src, key, title, texts...)
	got, err := f.s.PutDocument(f.ctx, d, chunks)
	f.must(err, "PutDocument")
	return got, chunks
}

func (f *fixture) newJob(tenantID, sourceID string, runAt time.Time) record.Job {
	f.t.Helper()
	j := record.Job{ID: f.id("job"), TenantID: tenantID, SourceID: sourceID, Kind: "ingest", Status: record.JobQueued,
		MaxAttempts: 3, RunAt: runAt, CreatedAt: f.tick(), UpdatedAt: f.tick()}
	f.must(f.s.EnqueueJob(f.ctx, j), "EnqueueJob")
	return j
}

// world is one tenant with one object of every kind.
type world struct {
	tenant record.Tenant
	user   record.User
	token  record.APIToken
	bot    record.Bot
	source record.Source
	doc    record.Document
	chunks []record.Chunk
	job    record.Job
}

func (f *fixture) newWorld() world {
	f.t.Helper()
	var w world
	w.tenant = f.newTenant()
	w.user = f.newUser(w.tenant.ID)
	w.token = f.newToken(w.tenant.ID, w.user.ID)
	w.bot = f.newBot(w.tenant.ID)
	f.must(f.s.SetBotCredentials(f.ctx, record.BotCredentials{TenantID: w.tenant.ID, BotID: w.bot.ID, Ciphertext: []byte("gAAAAA-ciphertext")}), "SetBotCredentials")
	w.bot.HasCredentials = true
	w.source = f.newSource(w.tenant.ID, w.bot.ID)
	w.doc, w.chunks = f.putDoc(w.source, "guide.md", "Prometheus guide", "alerting rules fire alerts", "recording rules precompute")
	w.job = f.newJob(w.tenant.ID, w.source.ID, at(0))
	return w
}
