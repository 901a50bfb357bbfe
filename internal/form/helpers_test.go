package form

import (
	"bytes"
	"io"
	"mime/multipart"
)

// stdMultipartFields reads a multipart body with the standard library and
// keeps the parts its ReadForm keeps as values (a form name and no file
// name), without any limits. It is the reference for parseMultipart.
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
		name := p.FormName()
		if name == "" || p.FileName() != "" {
			continue
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		f = append(f, Field{Name: name, Value: string(v)})
	}
}
