// Package fdlimit raises the process's limit on open files to the most it
// may have: each client connection is an open file, and a soft limit left
// at a low default (1024 is common) would turn a few thousand keep-alive
// connections into refused clients long before memory ran short.
package fdlimit
