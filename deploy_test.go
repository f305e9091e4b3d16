package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// fencedBlocks returns the fenced code blocks of a Markdown text by language.
func fencedBlocks(md string) map[string][]string {
	blocks := map[string][]string{}
	for _, m := range regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```$").FindAllStringSubmatch(md, -1) {
		blocks[m[1]] = append(blocks[m[1]], m[2])
	}
	return blocks
}

// manifest is the part of a Kubernetes object the test reads.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct{ Name, Namespace string }
	Spec       struct {
		Replicas int
		Template struct {
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				Containers []container
			}
		}
	}
}

type container struct {
	Ports []struct {
		Name          string
		ContainerPort int `yaml:"containerPort"`
	}
	Env            []envVar
	ReadinessProbe probe `yaml:"readinessProbe"`
	LivenessProbe  probe `yaml:"livenessProbe"`
}

type envVar struct {
	Name      string
	Value     *string
	ValueFrom *struct {
		SecretKeyRef *struct{ Name, Key string } `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type probe struct {
	HTTPGet httpGet `yaml:"httpGet"`
}

type httpGet struct{ Path, Port string }

// TestDeployRecipes: the recipes of docs/deploy.md hold together: the
// Dockerfile shown is the repository's, the environment file and the
// Kubernetes settings are settings the server accepts, the Deployment has
// several instances, probes on /readyz and /healthz, the secret from a
// Secret and a Redis Cluster, and systemd accepts the unit.
func TestDeployRecipes(t *testing.T) {
	md, err := os.ReadFile("docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := fencedBlocks(string(md))
	known := flagsOf(t)
	// accepts fails the test unless the server starts its configuration
	// from env (variables it doesn't know are refused here too).
	accepts := func(t *testing.T, env map[string]string) config {
		t.Helper()
		for k := range env {
			if _, ok := known[k]; !ok && strings.HasPrefix(k, "AUTOCLAIM_") {
				t.Errorf("%s is no setting of autoclaim", k)
			}
		}
		c, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			t.Fatalf("the server refuses these settings: %v", err)
		}
		return c
	}

	t.Run("Dockerfile", func(t *testing.T) {
		file, err := os.ReadFile("Dockerfile")
		if err != nil {
			t.Fatal(err)
		}
		if len(blocks["dockerfile"]) != 1 || blocks["dockerfile"][0] != string(file) {
			t.Fatalf("docs/deploy.md shows a Dockerfile other than the repository's:\n%s", blocks["dockerfile"])
		}
		for _, want := range []string{"CGO_ENABLED=0", "USER 65532"} {
			if !strings.Contains(string(file), want) {
				t.Errorf("the Dockerfile lacks %s", want)
			}
		}
	})

	t.Run("EnvironmentFile", func(t *testing.T) {
		env := map[string]string{}
		for _, b := range blocks["sh"] {
			if !strings.HasPrefix(b, "# /etc/autoclaim/autoclaim.env\n") {
				continue
			}
			for _, line := range strings.Split(strings.TrimSpace(b), "\n")[1:] {
				k, v, ok := strings.Cut(line, "=")
				if !ok {
					t.Fatalf("line %q of the environment file is not NAME=value", line)
				}
				env[k] = v
			}
		}
		if c := accepts(t, env); c.embedded() || c.MetricsAddr != "127.0.0.1:9090" {
			t.Errorf("the environment file gives %+v; want a Redis of its own and metrics on loopback", c)
		}
	})

	t.Run("SystemdUnit", func(t *testing.T) {
		if len(blocks["ini"]) != 1 {
			t.Fatalf("%d unit files in docs/deploy.md; want 1", len(blocks["ini"]))
		}
		verify, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("systemd-analyze is not installed: the unit is not verified")
		}
		// The test binary stands for /usr/local/bin/autoclaim: verify checks
		// that ExecStart names an executable.
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		unit := filepath.Join(t.TempDir(), "autoclaim.service")
		text := strings.Replace(blocks["ini"][0], "ExecStart=/usr/local/bin/autoclaim", "ExecStart="+self, 1)
		if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(verify, "verify", unit).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
		}
	})

	t.Run("Kubernetes", func(t *testing.T) {
		if len(blocks["yaml"]) != 1 {
			t.Fatalf("%d manifests in docs/deploy.md; want 1", len(blocks["yaml"]))
		}
		dec := yaml.NewDecoder(strings.NewReader(blocks["yaml"][0]))
		kinds := map[string]manifest{}
		for {
			var m manifest
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("the manifest is not valid YAML: %v", err)
			}
			if m.APIVersion == "" || m.Kind == "" || m.Metadata.Name == "" {
				t.Fatalf("an object without apiVersion, kind or name: %+v", m)
			}
			kinds[m.Kind] = m
		}
		for _, k := range []string{"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"} {
			if _, ok := kinds[k]; !ok {
				t.Errorf("the manifest has no %s", k)
			}
		}
		d := kinds["Deployment"]
		if d.Spec.Replicas < 2 || len(d.Spec.Template.Spec.Containers) != 1 || !d.Spec.Template.Spec.SecurityContext.RunAsNonRoot {
			t.Fatalf("Deployment %+v; want several replicas of one non-root container", d.Spec)
		}
		c := d.Spec.Template.Spec.Containers[0]
		if c.ReadinessProbe.HTTPGet != (httpGet{"/readyz", "http"}) || c.LivenessProbe.HTTPGet != (httpGet{"/healthz", "http"}) {
			t.Errorf("probes %+v, %+v; want /readyz and /healthz on the http port", c.ReadinessProbe, c.LivenessProbe)
		}
		ports := map[string]string{}
		for _, p := range c.Ports {
			ports[p.Name] = strconv.Itoa(p.ContainerPort)
		}
		env := map[string]string{}
		for _, e := range c.Env {
			switch {
			case e.Value != nil:
				env[e.Name] = *e.Value
			case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
				env[e.Name] = strings.Repeat("s", minSecretBytes) // what the Secret holds
			}
		}
		if env["AUTOCLAIM_JWT_SECRET"] != strings.Repeat("s", minSecretBytes) {
			t.Error("AUTOCLAIM_JWT_SECRET does not come from a Secret")
		}
		cfg := accepts(t, env)
		if len(cfg.RedisCluster) < 2 {
			t.Errorf("AUTOCLAIM_REDIS_CLUSTER lists %v; want the cluster's nodes", cfg.RedisCluster)
		}
		for setting, port := range map[string]string{cfg.Addr: ports["http"], cfg.MetricsAddr: ports["metrics"]} {
			if _, p, err := net.SplitHostPort(setting); err != nil || p != port {
				t.Errorf("listen address %q; want the container port %q", setting, port)
			}
		}
	})
}
