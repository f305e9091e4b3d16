package api

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"runtime"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// OpsHandler serves the operator's listener (AUTOCLAIM_METRICS_ADDR, off the
// public API port): the Prometheus metrics of m at /metrics, net/http/pprof
// under /debug/pprof/, and /debug/heap, which collects garbage and reports
// the live heap and the goroutine stacks in use, for measuring memory per
// subscriber or request. Profiles show the process's command line: keep the
// listener on loopback or a network only the operator's scrapers reach.
func OpsHandler(m *Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/heap", func(w http.ResponseWriter, _ *http.Request) {
		// Each collection halves at most the stacks of goroutines that use
		// little of theirs; a few bring idle goroutines to their steady size.
		for range 4 {
			runtime.GC()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"heapAlloc": ms.HeapAlloc, "heapInuse": ms.HeapInuse, "stackInuse": ms.StackInuse,
			"goroutines": runtime.NumGoroutine(),
		})
	})
	return mux
}
