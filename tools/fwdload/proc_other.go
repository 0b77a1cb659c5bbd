//go:build !linux

package main

import "os/exec"

func checkProc() error { return errNoProc }

func dieWithParent(*exec.Cmd) {}

func cpuTicks(int) (cpu, error) { return cpu{}, errNoProc }

func rssKiB(int) (int64, error) { return 0, errNoProc }

func loadAvg() string { return "?" }
