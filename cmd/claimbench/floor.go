package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/autoclaim/autoclaim/store"
)

// The floor is what a claim costs at the least on this box: a bare net/http
// handler that reads the same request body an app sends, runs one EVALSHA
// of a minimal claim script on the same Redis, and writes the answer. It
// runs as a process of its own (this command, with -serve-floor), so its CPU
// is counted apart from the load generator's.

// floorScript is a minimal claim: an idempotency check, two pools in order,
// a decrement, the user's license recorded, an event appended.
// KEYS[1] licenses hash  KEYS[2] first pool  KEYS[3] second pool  KEYS[4] stream  KEYS[5] idempotency hash
// ARGV[1] user  ARGV[2] idempotency key (empty: none)
var floorScript = redis.NewScript(`
if ARGV[2] ~= '' then
  local first = redis.call('HGET', KEYS[5], ARGV[2])
  if first then return first end
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'ALREADY_LICENSED' end
for i = 2, 3 do
  local pool = redis.call('HMGET', KEYS[i], 'total', 'assigned')
  if tonumber(pool[2]) < tonumber(pool[1]) then
    redis.call('HINCRBY', KEYS[i], 'assigned', 1)
    redis.call('HSET', KEYS[1], ARGV[1], i - 1)
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', 1000000, '*', 'user', ARGV[1], 'product', i - 1, 'outcome', 'CLAIMED')
    if ARGV[2] ~= '' then redis.call('HSET', KEYS[5], ARGV[2], 'CLAIMED') end
    return 'CLAIMED'
  end
end
return 'DENIED'
`)

// floorKeys are the keys of the floor's tenant, under prefix.
func floorKeys(prefix, tenant string) []string {
	p := prefix + "floor:{t:" + tenant + "}:"
	return []string{p + "licenses", p + "pool:1", p + "pool:2", p + "events", p + "idem"}
}

// setupFloor gives the floor's tenant two pools of quantity licenses each.
func setupFloor(ctx context.Context, rdb redis.UniversalClient, prefix, tenant string, quantity int) error {
	k := floorKeys(prefix, tenant)
	if err := rdb.HSet(ctx, k[1], "total", quantity, "assigned", 0).Err(); err != nil {
		return err
	}
	if err := rdb.HSet(ctx, k[2], "total", quantity, "assigned", 0).Err(); err != nil {
		return err
	}
	return floorScript.Load(ctx, rdb).Err()
}

// serveFloor is the floor's process: it serves POST /graphql on a loopback
// port, prints "floor listening on <url>", and runs until killed.
func serveFloor(redisAddr, prefix string) error {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, PoolSize: store.DefaultPoolSize, MaxRetries: -1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /graphql", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Variables struct{ T, U, K string }
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		outcome, err := floorScript.Run(r.Context(), rdb, floorKeys(prefix, req.Variables.T), req.Variables.U, req.Variables.K).Text()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"data":{"claimLicense":{"outcome":%q,"reason":null}}}`, outcome)
	})
	fmt.Printf("floor listening on http://%s/graphql\n", ln.Addr())
	return http.Serve(ln, mux)
}

// floorServer is a running floor process.
type floorServer struct {
	URL string
	cmd *exec.Cmd
}

// startFloor starts this command again as the floor's process.
func startFloor(redisAddr, prefix string) (*floorServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve-floor", "-redis", redisAddr, "-prefix", prefix)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if url, ok := strings.CutPrefix(lines.Text(), "floor listening on "); ok {
			go io.Copy(io.Discard, out)
			return &floorServer{URL: url, cmd: cmd}, nil
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, errors.New("the floor process did not print its address")
}

// PID is the floor process's id.
func (f *floorServer) PID() int { return f.cmd.Process.Pid }

// Stop ends the floor process.
func (f *floorServer) Stop() {
	f.cmd.Process.Kill()
	f.cmd.Wait()
}
