package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

func checkProc() error {
	_, err := os.Stat("/proc/self/stat")
	if err != nil {
		return errNoProc
	}
	return nil
}

// dieWithParent makes the kernel kill the child if this process dies
// without running its defers (SIGKILL, a crash), so no server outlives a
// run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// cpuTicks returns the CPU time that process pid and all its threads have
// used, in user and in system mode, in clock ticks.
func cpuTicks(pid int) (cpu, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpu{}, err
	}
	// The command name in parentheses may hold spaces; the fields after
	// it start with the state (field 3). utime and stime are fields 14, 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return cpu{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return cpu{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var c cpu
	if c.user, err = strconv.ParseInt(string(f[11]), 10, 64); err != nil {
		return cpu{}, fmt.Errorf("/proc/%d/stat utime: %w", pid, err)
	}
	if c.sys, err = strconv.ParseInt(string(f[12]), 10, 64); err != nil {
		return cpu{}, fmt.Errorf("/proc/%d/stat stime: %w", pid, err)
	}
	return c, nil
}

// rssKiB returns the resident set size of process pid.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			v = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))
			return strconv.ParseInt(string(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// loadAvg is the machine's 1-minute load average, to show in the report
// whether something else competed for the cores.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return "?"
	}
	return string(f[0])
}
