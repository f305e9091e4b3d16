package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process a test owns, on a loopback port of its
// own, with its files in a temporary directory. It can be stopped, killed
// and started again on the same files.
type Server struct {
	tb   testing.TB // nil for a server launched outside a test
	Addr string
	Dir  string
	args []string
	cmd  *exec.Cmd
}

// StartServer starts redis-server with extra arguments (e.g. "--appendonly",
// "yes"). The test is skipped when redis-server is not installed, or fails
// when AUTOCLAIM_REQUIRE_REDIS=1. The process is killed when the test ends.
func StartServer(tb testing.TB, args ...string) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if Required() {
			tb.Fatalf("redis-server is not installed (AUTOCLAIM_REQUIRE_REDIS=1)")
		}
		tb.Skip("redis-server is not installed; skipping a test that runs its own Redis")
	}
	s, err := Launch(tb.TempDir(), args...)
	if err != nil {
		tb.Fatal(err)
	}
	s.tb = tb
	tb.Cleanup(s.Kill)
	return s
}

// Launch starts redis-server with extra arguments and its files in dir, for
// a server that outlives one test (one that tests share); its owner kills it.
func Launch(dir string, args ...string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: dir, args: args}
	if err := s.start(); err != nil {
		s.Kill()
		return nil, err
	}
	return s, nil
}

// Start runs the server (again) and waits until it answers PING.
func (s *Server) Start() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}

func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{"--bind", "127.0.0.1", "--port", port, "--dir", s.Dir, "--save", "", "--daemonize", "no", "--logfile", ""}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server at %s did not answer: %w", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill ends the server with SIGKILL (as a crash would) and waits for it.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Stop ends the server with SIGTERM (a clean shutdown) and waits for it.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

func (s *Server) signal(sig syscall.Signal) {
	if s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(sig)
	s.cmd.Wait()
}

// Client returns a client of the server that never retries and gives up
// quickly, as a server facing an outage should.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: time.Second, WriteTimeout: time.Second, PoolTimeout: time.Second, PoolSize: 64})
	s.tb.Cleanup(func() { c.Close() })
	return c
}
