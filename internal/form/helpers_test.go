package form

import (
	"bytes"
	"io"
	"mime/multipart"
)

// stdMultipartFields reads a multipart body with the standard library and
// applies this package's field policy (named form-data parts without a
// filename), without any limits. It is the reference for parseMultipart.
func stdMultipartFields(body []byte, boundary string) (Fields, error) {
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	f := Fields{}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, err
		}
		// Skipped parts are not decoded, just as Parse never reads them.
		name, file := partName(p.Header)
		if name == "" || file {
			continue
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		f = append(f, Field{Name: name, Value: string(v)})
	}
}
