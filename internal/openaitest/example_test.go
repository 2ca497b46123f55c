package openaitest_test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/minirag/minirag/internal/openaitest"
)

func Example() {
	srv := openaitest.Start(openaitest.Options{APIKey: "sk-test", Dimensions: 4})
	defer srv.Close()
	// The next embeddings request is throttled.
	srv.FailNext(1, openaitest.Failure{Status: 429, RetryAfter: "1", Path: "/v1/embeddings"})

	for range 2 {
		req, _ := http.NewRequest("POST", srv.URL+"/embeddings", strings.NewReader(`{"model":"m","input":["hello"]}`))
		req.Header.Set("Authorization", "Bearer sk-test")
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Printf("%d Retry-After=%q\n", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	fmt.Println(srv.RequestCount(), srv.EmbeddedInputs(), srv.SecretLeaks("sk-test"))
	// Output:
	// 429 Retry-After="1"
	// 200 Retry-After=""
	// 2 1 []
}
