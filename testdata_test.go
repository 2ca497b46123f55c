package minirag

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestsCarryTheirOwnData: no Go file of the repository reads the
// development machine's shared folder (a fresh clone does not have it, and
// the tests that read it used to skip there), and every folder of
// testdata/ says where its files came from and under which licence.
func TestTestsCarryTheirOwnData(t *testing.T) {
	banned := []string{
		"../" + "shared/",           // a path out of the repository
		"shared test data " + "abs", // the old skip message
	}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != "." && (strings.HasPrefix(n, ".") || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range banned {
			if strings.Contains(string(b), s) {
				t.Errorf("%s contains %q: tests must read only the repository's testdata/", p, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"fernet", "jwt", "prometheus-docs"} {
		for _, f := range [][]string{{"SOURCE.md"}, {"LICENSE", "LICENSE.md"}} {
			found := false
			for _, name := range f {
				if _, err := os.Stat(filepath.Join("testdata", dir, name)); err == nil {
					found = true
				}
			}
			if !found {
				t.Errorf("testdata/%s has no %s", dir, strings.Join(f, " or "))
			}
		}
	}
}
