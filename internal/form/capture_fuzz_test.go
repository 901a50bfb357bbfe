package form

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// FuzzCapture checks that whatever the body, the limit and the way the body
// arrives, the downstream reader gets exactly the bytes sent. Bodies are a
// short piece repeated, so that large bodies (past the first buffer size)
// come from small inputs, which keeps the fuzzer's minimisation fast.
func FuzzCapture(f *testing.F) {
	f.Add([]byte("a=1&b=2"), uint8(0), uint16(100), uint8(0))
	f.Add([]byte("a=1&b=2"), uint8(0), uint16(3), uint8(1))
	f.Add([]byte("0123456789abcdef0123456789abcdef"), uint8(200), uint16(5000), uint8(7))
	f.Add([]byte("x"), uint8(70), uint16(64), uint8(6))
	f.Add([]byte{}, uint8(0), uint16(0), uint8(3))
	f.Fuzz(func(t *testing.T, piece []byte, repeat uint8, max uint16, mode uint8) {
		piece = piece[:min(len(piece), 256)]
		captureOnce(t, bytes.Repeat(piece, 1+int(repeat)), max, mode)
	})
}

// captureOnce is one FuzzCapture run.
func captureOnce(t *testing.T, body []byte, max uint16, mode uint8) {
	{
		chunked := mode&1 == 1
		var src io.Reader = bytes.NewReader(body)
		switch (mode >> 1) % 4 {
		case 1:
			src = iotest.OneByteReader(src)
		case 2:
			src = iotest.DataErrReader(src)
		case 3:
			src = iotest.HalfReader(src)
		}
		failing := mode&8 != 0
		errCut := errors.New("cut")
		if failing {
			src = io.MultiReader(src, iotest.ErrReader(errCut))
		}
		length := int64(len(body))
		if chunked {
			length = -1
		}
		req, cc := newBodyRequest(src, length)
		c, err := Capture(req, int64(max))
		defer c.Release()

		fits := len(body) <= int(max)
		switch {
		case len(body) == 0 && !chunked:
			// ContentLength 0: nothing to read, the body is left alone.
		case failing && fits:
			if !errors.Is(err, errCut) || c.Complete() {
				t.Fatalf("read error not reported: %v, complete %v", err, c.Complete())
			}
		case err != nil:
			t.Fatalf("Capture: %v", err)
		case c.Complete() != fits:
			t.Fatalf("Complete = %v for %d bytes, max %d", c.Complete(), len(body), max)
		}
		wantBytes := body[:min(len(body), int(max))]
		if len(body) == 0 && !chunked {
			wantBytes = nil
		}
		if !bytes.Equal(c.Bytes(), wantBytes) {
			t.Fatalf("Bytes = %d bytes, want %d", len(c.Bytes()), len(wantBytes))
		}
		got, rerr := io.ReadAll(req.Body)
		if !bytes.Equal(got, body) {
			t.Fatalf("downstream got %d bytes, sent %d", len(got), len(body))
		}
		if failing != errors.Is(rerr, errCut) || (!failing && rerr != nil) {
			t.Fatalf("downstream error %v (failing source: %v)", rerr, failing)
		}
		if c.Complete() && len(body) > 0 {
			if req.ContentLength != int64(len(body)) || req.TransferEncoding != nil {
				t.Fatalf("ContentLength %d, TransferEncoding %v", req.ContentLength, req.TransferEncoding)
			}
			rc, err := req.GetBody()
			if err != nil {
				t.Fatal(err)
			}
			again, _ := io.ReadAll(rc)
			if !bytes.Equal(again, body) {
				t.Fatal("GetBody replays different bytes")
			}
		}
		_ = req.Body.Close()
		if cc.closed != 1 {
			t.Fatalf("original closed %d times", cc.closed)
		}
	}
}
