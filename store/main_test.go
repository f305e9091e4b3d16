package store_test

import (
	"os"
	"testing"

	"github.com/autoclaim/autoclaim/internal/clustertest"
)

// TestMain runs the tests; those on a Redis Cluster share one
// (clustertest.Shared), stopped once they are done.
func TestMain(m *testing.M) { os.Exit(clustertest.Main(m)) }
