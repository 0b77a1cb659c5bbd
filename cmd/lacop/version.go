package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// The release build sets these (-ldflags "-X main.version=v1.2.3 -X
// main.commit=… -X main.buildDate=…", see scripts/release); any other
// build is "devel", with the commit and time the Go toolchain stamped when
// it could (-buildvcs).
var (
	version   = "devel"
	commit    = ""
	buildDate = ""
)

// buildInfo is what lacop version prints: which release, from which
// commit, built when and with which Go, so an operator can say exactly
// what runs.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// readBuildInfo reads the commit and its time from what the Go toolchain
// stamps into the binary (-buildvcs), so no build script has to pass them.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, BuildDate: buildDate, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok && commit == "" {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.time":
				b.BuildDate = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.BuildDate == "" {
		b.BuildDate = "unknown"
	}
	return b
}

func (m *Main) versionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version [--json]",
		Short: "Print the version, commit, build date and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := readBuildInfo()
			if asJSON {
				return m.printJSON(b)
			}
			commit := b.Commit
			if b.Modified {
				commit += " (with uncommitted changes)"
			}
			fmt.Fprintf(m.Stdout, "lacop %s\ncommit  %s\nbuilt   %s\ngo      %s %s\n", b.Version, commit, b.BuildDate, b.GoVersion, b.Platform)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
