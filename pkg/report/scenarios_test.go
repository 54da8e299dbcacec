package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatewarden/gatewarden/pkg/manifest"
)

// updateGolden regenerates the golden verdicts: UPDATE_GOLDEN=true go test ./pkg/report/
// Review the diff before committing it: the golden files are the spec.
var updateGolden = os.Getenv("UPDATE_GOLDEN") == "true"

// TestScenarios evaluates every scenario folder, and the example scenario the
// README shows, and compares the check JSON with its golden file.
func TestScenarios(t *testing.T) {
	dirs, err := filepath.Glob("testdata/scenarios/*")
	require.NoError(t, err)
	dirs = append(dirs, "../../config/samples/shared-gateway")
	require.Greater(t, len(dirs), 5)
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			objs, err := manifest.Read([]string{dir}, nil, manifest.Options{})
			require.NoError(t, err)
			rep, err := Build(objs, Deny)
			require.NoError(t, err)
			var got bytes.Buffer
			require.NoError(t, rep.WriteJSON(&got))

			golden := filepath.Join("testdata", "golden", name+".json")
			if updateGolden {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, got.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden file: run UPDATE_GOLDEN=true go test ./pkg/report/")
			assert.JSONEq(t, string(want), got.String())
		})
	}
}
