package openaitest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/openaitest"
)

func post(t *testing.T, srv *openaitest.Server, path, key, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestEmbeddingsJSON(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 8})
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), srv.URL)
	assert.True(t, strings.HasSuffix(srv.URL, "/v1"))

	resp, body := post(t, srv, "/embeddings", "", `{"input":["hello world","second"],"model":"m1"}`)
	require.Equal(t, 200, resp.StatusCode, string(body))
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, "list", got["object"])
	assert.Equal(t, "m1", got["model"])
	data := got["data"].([]any)
	require.Len(t, data, 2)
	for i, d := range data {
		item := d.(map[string]any)
		assert.Equal(t, "embedding", item["object"])
		assert.Equal(t, float64(i), item["index"])
		assert.Len(t, item["embedding"], 8)
	}
	usage := got["usage"].(map[string]any)
	assert.Equal(t, float64(3+2), usage["prompt_tokens"]) // ceil(11/4) + ceil(6/4)
	assert.Equal(t, usage["prompt_tokens"], usage["total_tokens"])

	// A single string input, and dimensions from the request.
	resp, body = post(t, srv, "/embeddings", "", `{"input":"one","model":"m1","dimensions":3}`)
	require.Equal(t, 200, resp.StatusCode, string(body))
	var er openaitest.EmbeddingsResponse
	require.NoError(t, json.Unmarshal(body, &er))
	require.Len(t, er.Data, 1)
	assert.Len(t, er.Data[0].Embedding, 3)
	assert.Equal(t, 1, srv.EmbeddedInputs()-2)
}

func TestEmbeddingsBadRequests(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	for _, body := range []string{
		`{"input":[],"model":"m"}`,
		`{"input":["a",""],"model":"m"}`,
		`{"input":["a"]}`,
		`{"input":[[1,2,3]],"model":"m"}`,
		`{"input":["a"],"model":"m","dimensions":0}`,
		`not json`,
	} {
		resp, b := post(t, srv, "/embeddings", "", body)
		assert.Equal(t, 400, resp.StatusCode, body)
		var e struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		require.NoError(t, json.Unmarshal(b, &e), string(b))
		assert.NotEmpty(t, e.Error.Message)
		assert.Equal(t, "invalid_request_error", e.Error.Type)
	}
}

func TestWithGoOpenAIClient(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{APIKey: "sk-secret", Dimensions: 16})
	cfg := openai.DefaultConfig("sk-secret")
	cfg.BaseURL = srv.URL
	c := openai.NewClientWithConfig(cfg)
	ctx := context.Background()

	res, err := c.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{Input: []string{"a b", "c d"}, Model: "text-embedding-3-small"})
	require.NoError(t, err)
	require.Len(t, res.Data, 2)
	var n float64
	for _, x := range res.Data[0].Embedding {
		n += float64(x * x)
	}
	assert.InDelta(t, 1, math.Sqrt(n), 1e-5)

	// base64 encoding decodes to the same vectors.
	b64, err := c.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{
		Input: []string{"a b", "c d"}, Model: "text-embedding-3-small", EncodingFormat: openai.EmbeddingEncodingFormatBase64})
	require.NoError(t, err)
	assert.Equal(t, res.Data[1].Embedding, b64.Data[1].Embedding)

	chat, err := c.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
		Model:    "gpt-test",
		Messages: []openai.ChatCompletionMessage{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hello there"}},
	})
	require.NoError(t, err)
	assert.Equal(t, "echo: hello there", chat.Choices[0].Message.Content)
	assert.Equal(t, openai.FinishReasonStop, chat.Choices[0].FinishReason)
	assert.Positive(t, chat.Usage.TotalTokens)

	stream, err := c.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{
		Model: "gpt-test", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "one two three"}},
		StreamOptions: &openai.StreamOptions{IncludeUsage: true},
	})
	require.NoError(t, err)
	defer stream.Close()
	var text strings.Builder
	var finish openai.FinishReason
	var usage *openai.Usage
	for {
		chunk, err := stream.Recv()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		for _, ch := range chunk.Choices {
			text.WriteString(ch.Delta.Content)
			if ch.FinishReason != "" {
				finish = ch.FinishReason
			}
		}
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
	}
	assert.Equal(t, "echo: one two three", text.String())
	assert.Equal(t, openai.FinishReasonStop, finish)
	require.NotNil(t, usage)
	assert.Equal(t, usage.PromptTokens+usage.CompletionTokens, usage.TotalTokens)

	assert.Empty(t, srv.SecretLeaks("sk-secret"))
	for _, r := range srv.Requests() {
		assert.Equal(t, "Bearer sk-secret", r.Header.Get("Authorization"))
		assert.Equal(t, 200, r.Status)
	}
}

func TestStreamWireFormat(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Reply: func(openaitest.ChatRequest) string { return "Hi there" }})
	resp, body := post(t, srv, "/chat/completions", "",
		`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`)
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	events := strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n")
	require.Len(t, events, 6, string(body)) // role, "Hi ", "there", finish, usage, [DONE]
	assert.Equal(t, "data: [DONE]", events[5])
	var chunks []map[string]any
	for _, e := range events[:5] {
		require.True(t, strings.HasPrefix(e, "data: "), e)
		var c map[string]any
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(e, "data: ")), &c))
		assert.Equal(t, "chat.completion.chunk", c["object"])
		chunks = append(chunks, c)
	}
	delta := func(i int) map[string]any {
		return chunks[i]["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any)
	}
	assert.Equal(t, "assistant", delta(0)["role"])
	assert.Equal(t, "Hi ", delta(1)["content"])
	assert.Equal(t, "there", delta(2)["content"])
	assert.Equal(t, "stop", chunks[3]["choices"].([]any)[0].(map[string]any)["finish_reason"])
	assert.Nil(t, chunks[3]["usage"])
	assert.Empty(t, chunks[4]["choices"])
	assert.NotNil(t, chunks[4]["usage"])
}

func TestMaxTokensCutsReply(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	_, body := post(t, srv, "/chat/completions", "", `{"model":"m","max_tokens":2,"messages":[{"role":"user","content":"a b c d"}]}`)
	var c struct {
		Choices []struct {
			Message      struct{ Content string } `json:"message"`
			FinishReason string                   `json:"finish_reason"`
		} `json:"choices"`
	}
	require.NoError(t, json.Unmarshal(body, &c))
	assert.Equal(t, "echo: a ", c.Choices[0].Message.Content)
	assert.Equal(t, "length", c.Choices[0].FinishReason)
}

func TestScriptedFailuresAndAuth(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{APIKey: "k"})
	resp, body := post(t, srv, "/embeddings", "wrong", `{"input":"a","model":"m"}`)
	assert.Equal(t, 401, resp.StatusCode)
	assert.NotContains(t, string(body), "wrong")

	srv.FailNext(2, openaitest.Failure{Status: 429, RetryAfter: "7", Path: "/v1/embeddings"})
	srv.FailNext(1, openaitest.Failure{Status: 502, Raw: "<html>bad gateway</html>"})
	// The chat request skips the embeddings failures and takes the 502.
	resp, body = post(t, srv, "/chat/completions", "k", `{"model":"m","messages":[{"role":"user","content":"x"}]}`)
	assert.Equal(t, 502, resp.StatusCode)
	assert.Equal(t, "<html>bad gateway</html>", string(body))
	for range 2 {
		resp, body = post(t, srv, "/embeddings", "k", `{"input":"a","model":"m"}`)
		assert.Equal(t, 429, resp.StatusCode)
		assert.Equal(t, "7", resp.Header.Get("Retry-After"))
		assert.Contains(t, string(body), "rate_limit_exceeded")
	}
	resp, _ = post(t, srv, "/embeddings", "k", `{"input":"a","model":"m"}`)
	assert.Equal(t, 200, resp.StatusCode)
	statuses := []int{}
	for _, r := range srv.Requests() {
		statuses = append(statuses, r.Status)
	}
	assert.Equal(t, []int{401, 502, 429, 429, 200}, statuses)
	assert.Equal(t, 5, srv.RequestCount())
}

func TestTruncateAndHook(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
	srv.TruncateNext(1)
	var er openaitest.EmbeddingsResponse
	_, body := post(t, srv, "/embeddings", "", `{"input":["a","b","c"],"model":"m"}`)
	require.NoError(t, json.Unmarshal(body, &er))
	assert.Len(t, er.Data, 2)

	srv.SetEmbeddingsHook(func(req *openaitest.EmbeddingsRequest, resp *openaitest.EmbeddingsResponse) {
		assert.Equal(t, []string{"a", "b"}, req.Input)
		resp.Data[1].Embedding = resp.Data[1].Embedding[:2]
	})
	_, body = post(t, srv, "/embeddings", "", `{"input":["a","b"],"model":"m"}`)
	require.NoError(t, json.Unmarshal(body, &er))
	assert.Len(t, er.Data[0].Embedding, 4)
	assert.Len(t, er.Data[1].Embedding, 2)
}

func TestCustomEmbedFunc(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Embed: func(text string, dims int) []float32 {
		v := make([]float32, dims)
		v[0] = float32(len(text))
		return v
	}})
	var er openaitest.EmbeddingsResponse
	_, body := post(t, srv, "/embeddings", "", `{"input":["abc"],"model":"m","dimensions":2}`)
	require.NoError(t, json.Unmarshal(body, &er))
	assert.Equal(t, []float32{3, 0}, er.Data[0].Embedding)
}

func TestPeakConcurrencyAndLimit(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Delay: 20 * time.Millisecond, MaxConcurrent: 2, Dimensions: 2})
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := post(t, srv, "/embeddings", "", `{"input":"a","model":"m"}`)
			assert.Equal(t, 200, resp.StatusCode)
		}()
	}
	wg.Wait()
	assert.GreaterOrEqual(t, srv.PeakConcurrency(), 2)
	assert.LessOrEqual(t, srv.PeakConcurrency(), 5)
	assert.Equal(t, 5, srv.EmbeddedInputs())
}

func TestAbortStream(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	srv.AbortStreamAfter(1)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/chat/completions",
		strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"a b c"}]}`))
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	for sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	assert.Error(t, sc.Err()) // the connection was dropped mid-body
	assert.Len(t, lines, 2)   // role chunk and one content chunk
	for _, l := range lines {
		assert.NotContains(t, l, "[DONE]")
	}
}

func TestSecretLeaks(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/embeddings?key=s3cret", strings.NewReader(`{"input":"s3cret","model":"m"}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("X-Debug", "token s3cret")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.ElementsMatch(t, []string{"request 0: header X-Debug", "request 0: URL", "request 0: body"}, srv.SecretLeaks("s3cret"))
}
