package api

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	rev := []debug.BuildSetting{{Key: "vcs.revision", Value: "0864fb9d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b"}}
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"Released", debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: rev}, "v1.2.3"},
		{"StampedFromACheckout", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261130232400-0864fb9d1e2f+dirty"}}, "v0.0.0-20261130232400-0864fb9d1e2f+dirty"},
		{"RevisionOnly", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: rev}, "devel+0864fb9d1e2f"},
		{"RevisionModified", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: append(rev, debug.BuildSetting{Key: "vcs.modified", Value: "true"})}, "devel+0864fb9d1e2f-dirty"},
		{"Nothing", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionOf(&tt.bi); got != tt.want {
				t.Errorf("versionOf(%+v) = %q; want %q", tt.bi, got, tt.want)
			}
		})
	}
}
