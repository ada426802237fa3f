package bundle

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ContentFormat opens every seeds content digest: a change of definition
// is a change of this line, so no two definitions give one digest.
const ContentFormat = "clawdinator-bundle seeds content v1\n"

// SeedsContentDigest returns the content digest of the repo-seeds tree at
// root (docs/bundle.md, "Content digest"): what git holds, not how one
// clone stored it. Two clones of the same commits give the same digest
// although their pack files, index stat data and reflogs differ; a new
// commit, ref, file, mode or symlink gives another. allowKeys, the
// repo-seeds-allow-keys globs, count too: seeds checked under another
// allow-list are not the same seeds. It reads every file but the pack
// data, and returns an error when the tree cannot be read whole; what the
// tree holds is judged by WriteSeeds, not here.
func SeedsContentDigest(root string, allowKeys []string) (string, error) {
	if probs := checkRoot(root); len(probs) > 0 {
		return "", errors.New(probs[0].Message)
	}
	cd := &contentDigest{h: sha256.New(), buf: make([]byte, 256<<10)}
	io.WriteString(cd.h, ContentFormat)
	var globs []string
	for _, g := range allowKeys {
		if g = strings.Trim(strings.TrimSpace(g), "/"); g != "" {
			globs = append(globs, g)
		}
	}
	slices.Sort(globs)
	globs = slices.Compact(globs)
	cd.record('a', 0, "", fmt.Sprintf("%d:%s", len(strings.Join(globs, "\x00")), strings.Join(globs, "\x00")))

	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode()
		cd.leave(rel)
		if g := cd.gitDir(); g != nil {
			if skip, err := g.visit(cd, p, rel, d, info); skip || err != nil {
				return err
			}
		}
		switch {
		case mode.IsDir():
			cd.record('d', mode.Perm(), rel, "-")
			if isGitDir(p) {
				cd.enter(rel, p)
			}
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			cd.record('l', 0o777, rel, fmt.Sprintf("%d:%s", len(target), target))
		case mode.IsRegular():
			sum, err := cd.fileSum(p)
			if err != nil {
				return err
			}
			cd.record('f', mode.Perm(), rel, sum)
		default:
			return fmt.Errorf("%s is a %s", p, typeName(mode))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("seeds content digest: %w", err)
	}
	cd.leave("")
	return hex.EncodeToString(cd.h.Sum(nil)), nil
}

type contentDigest struct {
	h   hash.Hash
	buf []byte
	// git is the stack of git directories the walk is inside, innermost
	// last.
	git []*gitDirState
}

// record writes one record: kind, mode, path and value, each delimited so
// that no two sequences of records share their bytes.
func (cd *contentDigest) record(kind byte, mode fs.FileMode, rel, value string) {
	fmt.Fprintf(cd.h, "%c %04o %d:%s %s\n", kind, mode.Perm(), len(rel), rel, value)
}

func (cd *contentDigest) fileSum(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, cd.buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (cd *contentDigest) gitDir() *gitDirState {
	if len(cd.git) == 0 {
		return nil
	}
	return cd.git[len(cd.git)-1]
}

// enter starts a git directory at rel.
func (cd *contentDigest) enter(rel, p string) {
	cd.git = append(cd.git, &gitDirState{rel: rel, hashLen: objectIDLen(p), ids: map[string]bool{}})
}

// leave closes every git directory the walk has left before rel ("" closes
// them all), writing its object set.
func (cd *contentDigest) leave(rel string) {
	for len(cd.git) > 0 {
		g := cd.gitDir()
		if rel != "" && strings.HasPrefix(rel, g.rel+"/") {
			return
		}
		ids := make([]string, 0, len(g.ids))
		for id := range g.ids {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		h := sha256.New()
		for _, id := range ids {
			io.WriteString(h, id+"\n")
		}
		cd.record('o', 0, g.rel+"/objects", hex.EncodeToString(h.Sum(nil)))
		cd.git = cd.git[:len(cd.git)-1]
	}
}

// isGitDir says whether the directory at p is a git directory: a HEAD
// file, an objects directory and a refs directory (a clone's .git, a bare
// repository, a submodule's directory under .git/modules).
func isGitDir(p string) bool {
	h, err := os.Lstat(filepath.Join(p, "HEAD"))
	if err != nil || !h.Mode().IsRegular() {
		return false
	}
	for _, d := range []string{"objects", "refs"} {
		if st, err := os.Lstat(filepath.Join(p, d)); err != nil || !st.IsDir() {
			return false
		}
	}
	return true
}

// objectIDLen is the length in bytes of the object IDs of the git
// directory at p: 32 when its config names the sha256 object format.
func objectIDLen(p string) int {
	data, err := os.ReadFile(filepath.Join(p, "config"))
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(strings.ReplaceAll(strings.ToLower(line), " ", ""), "=")
			if ok && strings.TrimSpace(k) == "objectformat" && strings.TrimSpace(v) == "sha256" {
				return 32
			}
		}
	}
	return 20
}

type gitDirState struct {
	rel     string
	hashLen int
	ids     map[string]bool
}

// visit handles an entry inside the git directory g. It returns skip when
// the entry is accounted for here (or deliberately not at all), and a
// directory's contents are then skipped too when they are ignored.
func (g *gitDirState) visit(cd *contentDigest, p, rel string, d fs.DirEntry, info fs.FileInfo) (bool, error) {
	in := strings.TrimPrefix(rel, g.rel+"/")
	dir := info.IsDir()
	switch {
	case in == "logs" || strings.HasPrefix(in, "logs/"):
		// Reflogs say when a clone happened, not what it holds.
		return true, skipDir(dir)
	case in == "index" && info.Mode().IsRegular():
		sum, err := indexSum(p, g.hashLen)
		if err != nil {
			// Not an index this reader knows: its bytes count.
			return false, nil
		}
		cd.record('i', info.Mode().Perm(), rel, sum)
		return true, nil
	case in == "info/refs" && !dir:
		// Written by git update-server-info (git repack runs it) from
		// the refs, which count.
		return true, nil
	case in == "objects":
		return true, nil
	case in == "objects/info/alternates" || in == "objects/info/http-alternates":
		return false, nil
	case strings.HasPrefix(in, "objects/pack/") && strings.HasSuffix(in, ".idx") && info.Mode().IsRegular():
		ids, err := packIndexIDs(p, g.hashLen)
		if err != nil {
			return true, fmt.Errorf("%s: %w", p, err)
		}
		for _, id := range ids {
			g.ids[id] = true
		}
		return true, nil
	case strings.HasPrefix(in, "objects/"):
		parts := strings.Split(in, "/")
		if len(parts) == 3 && isHexN(parts[1], 1) && isHexN(parts[2], g.hashLen-1) && info.Mode().IsRegular() {
			g.ids[parts[1]+parts[2]] = true
		}
		// Pack data, reverse indexes, bitmaps, commit-graphs, the
		// multi-pack-index and other derived files: not content.
		return true, nil
	}
	return false, nil
}

func skipDir(dir bool) error {
	if dir {
		return fs.SkipDir
	}
	return nil
}

func isHexN(s string, n int) bool {
	if len(s) != 2*n {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// packIndexIDs reads the object IDs a pack index (.idx, version 1 or 2)
// lists.
func packIndexIDs(p string, hashLen int) ([]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var head [8]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("not a pack index: %w", err)
	}
	v2 := bytes.Equal(head[:4], []byte{0xff, 't', 'O', 'c'})
	var fanout [256 * 4]byte
	if v2 {
		if binary.BigEndian.Uint32(head[4:]) != 2 {
			return nil, fmt.Errorf("pack index version %d is not one this tool reads", binary.BigEndian.Uint32(head[4:]))
		}
		if _, err := io.ReadFull(r, fanout[:]); err != nil {
			return nil, fmt.Errorf("not a pack index: %w", err)
		}
	} else {
		copy(fanout[:], head[:])
		if _, err := io.ReadFull(r, fanout[8:]); err != nil {
			return nil, fmt.Errorf("not a pack index: %w", err)
		}
	}
	n := binary.BigEndian.Uint32(fanout[255*4:])
	if int64(n)*int64(hashLen) > 1<<34 {
		return nil, errors.New("pack index lists too many objects")
	}
	ids := make([]string, 0, n)
	entry := make([]byte, hashLen+4)
	for range n {
		e := entry[:hashLen]
		if !v2 {
			e = entry // a 4-byte offset, then the ID
		}
		if _, err := io.ReadFull(r, e); err != nil {
			return nil, fmt.Errorf("truncated pack index: %w", err)
		}
		if !v2 {
			e = e[4:]
		}
		ids = append(ids, hex.EncodeToString(e))
	}
	return ids, nil
}

// indexSum digests a git index (versions 2 to 4) without its stat data,
// checksum and extensions: for each entry, its mode, object ID, flags
// (without the name length) and path.
func indexSum(p string, hashLen int) (string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	bad := errors.New("not a git index this tool reads")
	if len(data) < 12 || string(data[:4]) != "DIRC" {
		return "", bad
	}
	version := binary.BigEndian.Uint32(data[4:])
	if version < 2 || version > 4 {
		return "", bad
	}
	n := binary.BigEndian.Uint32(data[8:])
	h := sha256.New()
	off := 12
	var prev []byte
	for range n {
		start := off
		fixed := 40 + hashLen + 2
		if off+fixed > len(data) {
			return "", bad
		}
		mode := binary.BigEndian.Uint32(data[off+24:])
		oid := data[off+40 : off+40+hashLen]
		flags := binary.BigEndian.Uint16(data[off+40+hashLen:])
		off += fixed
		var ext uint16
		if flags&0x4000 != 0 {
			if version < 3 || off+2 > len(data) {
				return "", bad
			}
			ext = binary.BigEndian.Uint16(data[off:])
			off += 2
		}
		var name []byte
		if version == 4 {
			strip, k := indexVarint(data[off:])
			if k == 0 || strip > uint64(len(prev)) {
				return "", bad
			}
			off += k
			end := bytes.IndexByte(data[off:], 0)
			if end < 0 {
				return "", bad
			}
			name = append(append([]byte(nil), prev[:uint64(len(prev))-strip]...), data[off:off+end]...)
			off += end + 1
		} else {
			end := bytes.IndexByte(data[off:], 0)
			if end < 0 {
				return "", bad
			}
			name = data[off : off+end]
			// Entries are padded with 1 to 8 NULs to a multiple of 8.
			off = start + (off-start+end+8)&^7
			if off > len(data) {
				return "", bad
			}
		}
		prev = name
		fmt.Fprintf(h, "%o %x %04x %04x %d:%s\n", mode, oid, flags&0xf000, ext, len(name), name)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// indexVarint decodes the offset varint of index version 4; k is 0 when
// data holds none.
func indexVarint(data []byte) (v uint64, k int) {
	for i, c := range data {
		if i > 0 {
			v++
		}
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			return v, i + 1
		}
		if i > 8 {
			return 0, 0
		}
	}
	return 0, 0
}
