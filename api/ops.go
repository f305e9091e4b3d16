package api

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"runtime"
)

// DebugHandler serves profiling on the operator's debug listener
// (AUTOCLAIM_DEBUG_ADDR; keep it on loopback): net/http/pprof, and
// /debug/heap, which collects garbage and reports the live heap and the
// goroutine stacks in use, for measuring memory per subscriber or request.
func DebugHandler() http.Handler {
	mux := http.NewServeMux()
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
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"heapAlloc": m.HeapAlloc, "heapInuse": m.HeapInuse, "stackInuse": m.StackInuse,
			"goroutines": runtime.NumGoroutine(),
		})
	})
	return mux
}
