//go:build !race

package tui

// raceEnabled: the race detector is off.
const raceEnabled = false
