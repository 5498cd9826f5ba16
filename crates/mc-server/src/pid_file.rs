//! The `-P` pid file, handled as memcached handles it, and safe after dropping privileges.
//!
//! It is written atomically (a temporary file renamed into place, so a reader never sees it
//! empty), owned by the `-u` user so the process can still remove it after giving up root (in
//! a sticky directory such as `/tmp`, only a file's owner may remove it), and removed on a
//! clean exit only while it still names this process, so a stale file never outlives us and we
//! never remove another instance's file.

use std::io::Write;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Pid, Uid};

/// A pid file this process wrote.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Write this process's id to `path`, owned by `owner` when given (the user the process is
    /// about to become). Warns, as memcached does, when the file names a process still running.
    pub fn write(path: &Path, owner: Option<(Uid, Gid)>) -> std::io::Result<PidFile> {
        if let Some(pid) = read_pid(path) {
            if nix::sys::signal::kill(Pid::from_raw(pid as i32), None).is_ok() {
                tracing::warn!(
                    "the pid file {} contained the following (running) pid: {pid}",
                    path.display()
                );
            }
        }
        let pid = std::process::id();
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let result = (|| {
            let mut file = std::fs::File::create(&temporary)?;
            writeln!(file, "{pid}")?;
            file.sync_all()?;
            if let Some((uid, gid)) = owner {
                nix::unistd::chown(&temporary, Some(uid), Some(gid))?;
            }
            std::fs::rename(&temporary, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        result.map(|()| PidFile {
            path: path.to_path_buf(),
            pid,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Remove the file if it still names this process.
    pub fn remove(self) -> std::io::Result<()> {
        match read_pid(&self.path) {
            Some(pid) if pid == self.pid => std::fs::remove_file(&self.path),
            Some(pid) => {
                tracing::warn!(
                    "the pid file {} now names process {pid}; left in place",
                    self.path.display()
                );
                Ok(())
            }
            None => Ok(()),
        }
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mc-pidfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn written_whole_and_removed_when_still_ours() {
        let dir = scratch("ours");
        let path = dir.join("mc.pid");
        let file = PidFile::write(&path, None).expect("write");
        assert_eq!(read_pid(&path), Some(std::process::id()));
        assert!(!dir.join("mc.pid.tmp").exists());
        file.remove().expect("remove");
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn another_instances_file_is_left_alone() {
        let dir = scratch("theirs");
        let path = dir.join("mc.pid");
        let file = PidFile::write(&path, None).expect("write");
        std::fs::write(&path, "1\n").expect("another instance took the file over");
        file.remove().expect("remove");
        assert_eq!(read_pid(&path), Some(1));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
