package sqlite

import "testing"

func TestWithoutStopWords(t *testing.T) {
	for text, want := range map[string]string{
		"How long does Prometheus keep its data?": "long Prometheus keep data",
		"The scrape interval OF the job":          "scrape interval job",
		"the of and":                              "the of and", // stop words alone are kept
		"":                                        "",
		"Réseau: l'été":                           "Réseau l été",
	} {
		if got := withoutStopWords(text, englishStopWords); got != want {
			t.Errorf("withoutStopWords(%q) = %q, want %q", text, got, want)
		}
	}
}
