package inject

import (
	"bytes"
	"sync"
)

// maxPooledCap is the largest buffer capacity returned to the pool, so that
// one page held under a large MaxSize does not pin that memory for good.
const maxPooledCap = 4 << 20

// bufPool holds page buffers between responses.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// getBuffer returns an empty buffer with room for at least size bytes.
func getBuffer(size int) *bytes.Buffer {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	if size > 0 {
		buf.Grow(size)
	}
	return buf
}

// putBuffer returns buf to the pool unless it grew too large.
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledCap {
		return
	}
	buf.Reset()
	bufPool.Put(buf)
}
