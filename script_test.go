package cleantalk

import (
	"strings"
	"testing"
)

// The shipped script has exactly one place for the settings of a page load.
func TestPageScriptTakesItsSettingsOnce(t *testing.T) {
	if n := strings.Count(pageScript, scriptConfig); n != 1 {
		t.Fatalf("assets/ct.min.js names %s %d times, want once", scriptConfig, n)
	}
	if !strings.HasPrefix(scriptHead, "(function(") || !strings.HasPrefix(scriptTail, ");") {
		t.Fatalf("the script is not one function called with its settings: %.40s … %.40s", scriptHead, scriptTail)
	}
}
