package certs

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// writeFiles puts the serving pair and the CA into CertDir, each file only
// when its content differs, and returns the names of those it wrote. The key
// is written before the certificate: until both are, certwatcher finds a
// mismatched pair, refuses it and keeps serving the previous one, then picks
// up the new pair on the next event or poll.
func (s *SelfSigned) writeFiles(data map[string][]byte) ([]string, error) {
	if err := os.MkdirAll(s.CertDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the certificate directory: %w", err)
	}
	files := []struct {
		name string
		perm os.FileMode
	}{
		{KeyCACert, 0o644},
		{KeyTLSKey, 0o600},
		{KeyTLSCert, 0o644},
	}
	var written []string
	for _, f := range files {
		path := filepath.Join(s.CertDir, f.name)
		current, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return written, fmt.Errorf("reading %s: %w", path, err)
		}
		if err == nil && bytes.Equal(current, data[f.name]) {
			continue
		}
		if err := writeFileAtomic(path, data[f.name], f.perm); err != nil {
			return written, err
		}
		written = append(written, f.name)
	}
	return written, nil
}

// serving reports whether CertDir holds a usable pair, which the webhook
// server may be serving.
func (s *SelfSigned) serving() bool {
	_, err := tls.LoadX509KeyPair(filepath.Join(s.CertDir, KeyTLSCert), filepath.Join(s.CertDir, KeyTLSKey))
	return err == nil
}

// writeFileAtomic replaces path by renaming a complete temporary file over
// it, so that a reader sees the old content or the new, never a part.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
