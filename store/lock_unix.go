//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// lockDir takes an exclusive lock on dir, held until the returned file is
// closed. The kernel drops a flock with the process, so a crash leaves no
// stale lock, only the file.
func lockDir(dir string) (*os.File, error) {
	name := filepath.Join(dir, "hyperlieu.lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("embedded database: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder, _ := os.ReadFile(name)
			return nil, fmt.Errorf("embedded database %s is in use by another hyperlieu process (pid %s, holding %s): "+
				"stop it, give this one its own HYPERLIEU_DATA_DIR, or share that database through MONGO_URI and HYPERLIEU_EMBEDDED_DB_ADDR",
				dir, string(holder), name)
		}
		return nil, fmt.Errorf("embedded database: lock %s: %w", name, err)
	}
	// The pid is for the message above; the lock is the flock, not the file.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	}
	return f, nil
}
