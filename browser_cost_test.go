package cleantalk

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// traceEvent is the part of a Chromium trace event the cost test reads.
type traceEvent struct {
	Name string  `json:"name"`
	Dur  float64 `json:"dur"`  // µs
	TDur float64 `json:"tdur"` // µs the thread ran: what the script cost, however busy the machine
	Args struct {
		Data struct {
			URL string `json:"url"`
		} `json:"data"`
	} `json:"args"`
}

// scriptCost loads path n times under Chromium's tracer and returns the
// time, in ms, the main thread ran the scripts whose URL contains script on
// each load (thread time: a busy machine does not add to it): evaluating
// them (which a deferred script does before the page's DOMContentLoaded),
// and the calls into them afterwards (idle callbacks, handlers), up to
// when the JavaScript expression done is true.
func scriptCost(t *testing.T, ctx context.Context, path, script, done string, n int) (eval, later []float64) {
	t.Helper()
	for i := 0; i < n; i++ {
		var e, l float64
		for _, ev := range traceLoad(t, ctx, path, script, done) {
			d := ev.TDur
			if d == 0 { // no thread time on this system
				d = ev.Dur
			}
			switch ev.Name {
			case "EvaluateScript":
				e += d / 1000
			case "FunctionCall":
				l += d / 1000
			}
		}
		eval, later = append(eval, e), append(later, l)
	}
	return eval, later
}

// traceLoad loads path under the tracer until the expression done is true,
// and returns the events of the scripts whose URL contains script.
func traceLoad(t *testing.T, ctx context.Context, path, script, done string) []traceEvent {
	t.Helper()
	var (
		mu     sync.Mutex
		events []traceEvent
		traced = make(chan struct{})
		once   sync.Once
	)
	// A listener stays as long as its context; this load's ends here.
	listenCtx, stop := context.WithCancel(ctx)
	defer stop()
	chromedp.Listen(listenCtx, func(ev any) {
		switch ev := ev.(type) {
		case *tracing.EventDataCollected:
			mu.Lock()
			defer mu.Unlock()
			for _, v := range ev.Value {
				var e traceEvent
				if json.Unmarshal(v, &e) == nil && strings.Contains(e.Args.Data.URL, script) {
					events = append(events, e)
				}
			}
		case *tracing.EventTracingComplete:
			once.Do(func() { close(traced) })
		}
	})
	_, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{
		TransferMode: tracing.StartTransferModeReportEvents,
		TraceConfig:  &tracing.TraceConfig{IncludedCategories: []string{"devtools.timeline"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx, chromedp.Navigate(siteURL+path), waitJS(`document.readyState === "complete" && (`+done+`)`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-traced:
	case <-time.After(20 * time.Second):
		t.Fatal("the trace did not complete")
	}
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(events)
}

func median(s []float64) float64 {
	s = slices.Clone(s)
	slices.Sort(s)
	return s[len(s)/2]
}

// The page script costs a page no measurable main-thread time. Chromium's
// tracer attributes every millisecond of the script's own work; the form
// page is loaded with it and with a one-line script instead, in one run.
// Medians, as the machine may be busy.
func TestBrowserScriptMainThreadCost(t *testing.T) {
	ctx := browser(t)
	app := signalsApp(t)
	e := newEnv(t, browserFormSetup(app, "js_check off"))
	const loads = 9
	// The one-line script has run once the page is loaded; the module's
	// has done its idle-time setup once the form has its honeypot field.
	const noopRan, settled = `document.documentElement.dataset.noop === "1"`, `!!document.querySelector("#f input[name=` + honeypotField + `]")`
	scriptCost(t, ctx, "/form?m=cost&noop", "noop.js", noopRan, 2) // warm up
	noopEval, _ := scriptCost(t, ctx, "/form?m=cost&noop", "noop.js", noopRan, loads)
	e.load(browserFormSetup(app, ""))
	scriptCost(t, ctx, "/form?m=cost", scriptPath, settled, 2)
	eval, later := scriptCost(t, ctx, "/form?m=cost", scriptPath, settled, loads)
	t.Logf("per page load, median of %d: evaluating the module's script %.2f ms (a one-line script: %.2f ms); its idle-time setup %.2f ms",
		loads, median(eval), median(noopEval), median(later))
	// Loose bounds: the machine may be busy. Browser storage, which cost
	// 3 to 14 ms a page load here, is kept out by TestBrowserSendsThePluginSignals.
	if median(eval) > median(noopEval)+3 {
		t.Errorf("evaluating the script holds the page up %.2f ms, a one-line script %.2f ms", median(eval), median(noopEval))
	}
	if median(later) > 6 {
		t.Errorf("the script's setup takes %.2f ms", median(later))
	}
}
