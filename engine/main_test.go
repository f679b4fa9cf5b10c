package engine_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// rollout must end with its workers, committer and subscribers gone.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
