// Command soci-check checks a zTOC written by ocipeek with soci-snapshotter's own ztoc
// code (third_party/, see README.md): usage `soci-check LAYER.tar.gz ZTOC SPAN COMPARE`.
//  1. soci's Unmarshal reads the zTOC and its Marshal writes the same bytes back;
//  2. with COMPARE=1, soci's builder, run on the same layer with the same span, makes the
//     same checkpoints, span digests and sizes, and the same entries as soci reads them
//     (names cleaned, mode bits, instants to the microsecond): left out for multi-member layers, where
//     ocipeek adds a checkpoint at each member;
//  3. the span manager's path: each span's bytes checked against its digest and inflated
//     from its checkpoint (ExtractDataFromBuffer) give the tar's bytes;
//  4. every regular file extracted by soci (ExtractFromTarGz) equals archive/tar's reading.
//
// It prints one JSON report and exits non-zero at the first disagreement.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	_ "crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/awslabs/soci-snapshotter/ztoc"
	"github.com/awslabs/soci-snapshotter/ztoc/compression"
	"github.com/opencontainers/go-digest"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "soci-check: "+format+"\n", args...)
	os.Exit(1)
}

// within: ocipeek keeps mtimes to the microsecond (its tar reader holds them as doubles).
func within(a, b time.Time, d time.Duration) bool {
	diff := a.Sub(b)
	return diff < d && diff > -d
}

func clean(p string) string {
	return strings.TrimPrefix(filepath.Clean("/"+p), "/")
}

func main() {
	if len(os.Args) != 5 {
		fail("usage: soci-check LAYER.tar.gz ZTOC SPAN COMPARE")
	}
	layerPath, ztocPath := os.Args[1], os.Args[2]
	span, err := strconv.ParseInt(os.Args[3], 10, 64)
	if err != nil {
		fail("span: %v", err)
	}
	ours, err := os.ReadFile(ztocPath)
	if err != nil {
		fail("%v", err)
	}

	// 1. soci's reader takes our zTOC, and its writer gives back the same bytes.
	z, err := ztoc.Unmarshal(bytes.NewReader(ours))
	if err != nil {
		fail("soci cannot unmarshal our zTOC: %v", err)
	}
	again, _, err := ztoc.Marshal(z)
	if err != nil {
		fail("soci cannot marshal it again: %v", err)
	}
	rewritten, _ := io.ReadAll(again)
	sameBytes := bytes.Equal(rewritten, ours)
	if !sameBytes {
		fail("soci marshals our zTOC to other bytes (%d vs %d)", len(rewritten), len(ours))
	}

	compare := os.Args[4] == "1"
	if compare {
		compareWithSoci(layerPath, span, z)
	}
	spans, files := readThrough(layerPath, z)
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"remarshalIdentical": sameBytes,
		"comparedWithSoci":   compare,
		"spans":              spans,
		"entries":            len(z.FileMetadata),
		"filesExtracted":     files,
	})
}

// compareWithSoci is check 2.
func compareWithSoci(layerPath string, span int64, z *ztoc.Ztoc) {
	theirs, err := ztoc.NewBuilder("soci-check").BuildZtoc(layerPath, span)
	if err != nil {
		fail("soci cannot build a zTOC of the layer: %v", err)
	}
	if !bytes.Equal(theirs.Checkpoints, z.Checkpoints) {
		fail("checkpoints differ from soci's (%d vs %d bytes)", len(theirs.Checkpoints), len(z.Checkpoints))
	}
	if theirs.MaxSpanID != z.MaxSpanID || len(theirs.SpanDigests) != len(z.SpanDigests) {
		fail("span count differs: soci %d, ours %d", theirs.MaxSpanID, z.MaxSpanID)
	}
	for i := range theirs.SpanDigests {
		if theirs.SpanDigests[i] != z.SpanDigests[i] {
			fail("span %d digest differs", i)
		}
	}
	if theirs.CompressedArchiveSize != z.CompressedArchiveSize || theirs.UncompressedArchiveSize != z.UncompressedArchiveSize {
		fail("sizes differ: soci %d/%d, ours %d/%d", theirs.CompressedArchiveSize, theirs.UncompressedArchiveSize, z.CompressedArchiveSize, z.UncompressedArchiveSize)
	}
	// The TOC: the same entries as soci reads them (names cleaned, permission bits, instants).
	if len(theirs.FileMetadata) != len(z.FileMetadata) {
		fail("entry count differs: soci %d, ours %d", len(theirs.FileMetadata), len(z.FileMetadata))
	}
	for i, t := range theirs.FileMetadata {
		o := z.FileMetadata[i]
		if clean(t.Name) != clean(o.Name) || t.Type != o.Type ||
			t.UncompressedOffset != o.UncompressedOffset || t.UncompressedSize != o.UncompressedSize ||
			t.TarHeaderOffset != o.TarHeaderOffset || t.FileMode() != o.FileMode() ||
			t.UID != o.UID || t.GID != o.GID || t.Uname != o.Uname || t.Gname != o.Gname ||
			!within(t.ModTime, o.ModTime, time.Microsecond) || t.Devmajor != o.Devmajor || t.Devminor != o.Devminor {
			fail("entry %d differs: soci %+v, ours %+v", i, t, o)
		}
		if (t.Type == "hardlink" && clean(t.Linkname) != clean(o.Linkname)) || (t.Type == "symlink" && t.Linkname != o.Linkname) {
			fail("entry %d link differs: soci %q, ours %q", i, t.Linkname, o.Linkname)
		}
		tx, ox := t.Xattrs(), o.Xattrs()
		if len(tx) != len(ox) {
			fail("entry %d xattrs differ", i)
		}
		for k, v := range tx {
			if ox[k] != v {
				fail("entry %d xattr %s differs", i, k)
			}
		}
	}

}

// readThrough is checks 3 and 4: the spans and the files read with z, through soci's code.
func readThrough(layerPath string, z *ztoc.Ztoc) (int, int) {
	layer, err := os.ReadFile(layerPath)
	if err != nil {
		fail("%v", err)
	}
	gz, err := gzip.NewReader(bytes.NewReader(layer))
	if err != nil {
		fail("%v", err)
	}
	tarBytes, err := io.ReadAll(gz)
	if err != nil {
		fail("%v", err)
	}
	zinfo, err := z.Zinfo()
	if err != nil {
		fail("soci cannot read our checkpoints: %v", err)
	}
	defer zinfo.Close()
	for i := compression.SpanID(0); i <= zinfo.MaxSpanID(); i++ {
		start, end := zinfo.StartCompressedOffset(i), zinfo.EndCompressedOffset(i, z.CompressedArchiveSize)
		buf := layer[start:end]
		if digest.FromBytes(buf) != z.SpanDigests[i] {
			fail("span %d: its bytes do not match its digest", i)
		}
		uStart, uEnd := zinfo.StartUncompressedOffset(i), zinfo.EndUncompressedOffset(i, z.UncompressedArchiveSize)
		out, err := zinfo.ExtractDataFromBuffer(buf, uEnd-uStart, uStart, i)
		if err != nil {
			fail("span %d: %v", i, err)
		}
		if !bytes.Equal(out, tarBytes[uStart:uEnd]) {
			fail("span %d: inflated bytes differ from the tar's", i)
		}
	}

	// 4. Every regular file through soci's file extraction, against archive/tar's reading.
	files := 0
	tr := tar.NewReader(bytes.NewReader(tarBytes))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail("%v", err)
		}
		if h.Typeflag != tar.TypeReg || h.Size == 0 {
			continue
		}
		want, _ := io.ReadAll(tr)
		got, err := z.ExtractFromTarGz(layerPath, clean(h.Name))
		if err != nil {
			fail("extract %s: %v", h.Name, err)
		}
		if got != string(want) {
			fail("extract %s: bytes differ", h.Name)
		}
		files++
	}
	return int(zinfo.MaxSpanID()) + 1, files
}
