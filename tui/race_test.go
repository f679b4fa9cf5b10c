//go:build race

package tui

// raceEnabled: the race detector is on, and timings mean less.
const raceEnabled = true
