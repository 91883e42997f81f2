package main

// A small CBOR (RFC 8949) decoder and the one encoding COSE needs, standard library only,
// so the test server builds offline. Definite lengths only: CCA tokens use no others.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Tagged is a CBOR tag and its content.
type Tagged struct {
	Tag     uint64
	Content interface{}
}

// Negative is a CBOR negative integer (-1 - N), kept apart from unsigned ones.
type Negative uint64

type decoder struct {
	data  []byte
	at    int
	depth int
}

func decodeCBOR(data []byte) (interface{}, error) {
	d := &decoder{data: data}
	v, err := d.item()
	if err != nil {
		return nil, err
	}
	if d.at != len(data) {
		return nil, errors.New("cbor: trailing bytes")
	}
	return v, nil
}

func (d *decoder) head() (byte, uint64, error) {
	if d.at >= len(d.data) {
		return 0, 0, errors.New("cbor: truncated")
	}
	b := d.data[d.at]
	d.at++
	major, info := b>>5, b&0x1f
	var n uint64
	switch {
	case info < 24:
		n = uint64(info)
	case info <= 27:
		size := 1 << (info - 24)
		if d.at+size > len(d.data) {
			return 0, 0, errors.New("cbor: truncated")
		}
		buf := make([]byte, 8)
		copy(buf[8-size:], d.data[d.at:d.at+size])
		n = binary.BigEndian.Uint64(buf)
		d.at += size
	default:
		return 0, 0, fmt.Errorf("cbor: unsupported additional info %d", info)
	}
	return major, n, nil
}

func (d *decoder) item() (interface{}, error) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > 32 {
		return nil, errors.New("cbor: nested too deep")
	}
	major, n, err := d.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case 0:
		return n, nil
	case 1:
		return Negative(n), nil
	case 2, 3:
		if n > uint64(len(d.data)-d.at) {
			return nil, errors.New("cbor: truncated string")
		}
		s := d.data[d.at : d.at+int(n)]
		d.at += int(n)
		if major == 3 {
			return string(s), nil
		}
		return s, nil
	case 4:
		if n > uint64(len(d.data)-d.at) {
			return nil, errors.New("cbor: array longer than its input")
		}
		out := make([]interface{}, 0, n)
		for i := uint64(0); i < n; i++ {
			v, err := d.item()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case 5:
		if n > uint64(len(d.data)-d.at) {
			return nil, errors.New("cbor: map longer than its input")
		}
		out := make(map[interface{}]interface{}, n)
		for i := uint64(0); i < n; i++ {
			k, err := d.item()
			if err != nil {
				return nil, err
			}
			if _, ok := k.([]byte); ok {
				return nil, errors.New("cbor: byte string map key")
			}
			v, err := d.item()
			if err != nil {
				return nil, err
			}
			if _, dup := out[k]; dup {
				return nil, errors.New("cbor: duplicate map key")
			}
			out[k] = v
		}
		return out, nil
	case 6:
		v, err := d.item()
		if err != nil {
			return nil, err
		}
		return Tagged{Tag: n, Content: v}, nil
	default:
		switch n {
		case 20:
			return false, nil
		case 21:
			return true, nil
		case 22:
			return nil, nil
		}
		if n > math.MaxUint32 {
			return n, nil
		}
		return nil, fmt.Errorf("cbor: unsupported simple value %d", n)
	}
}

func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	case n < 1<<16:
		return []byte{major<<5 | 25, byte(n >> 8), byte(n)}
	default:
		b := []byte{major<<5 | 26, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:], uint32(n))
		return b
	}
}

// sigStructure is COSE's Sig_structure for COSE_Sign1 (RFC 9052 §4.4) with no external AAD.
func sigStructure(protected, payload []byte) []byte {
	out := cborHead(4, 4)
	out = append(out, cborHead(3, 10)...)
	out = append(out, "Signature1"...)
	out = append(out, cborHead(2, uint64(len(protected)))...)
	out = append(out, protected...)
	out = append(out, cborHead(2, 0)...)
	out = append(out, cborHead(2, uint64(len(payload)))...)
	return append(out, payload...)
}
