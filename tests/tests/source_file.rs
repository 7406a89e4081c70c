//! `read_text_file`: byte-range splits read every line exactly once, in file order per
//! split, whatever the line lengths and wherever the split boundaries fall; CRLF endings,
//! a missing final newline and empty files; a missing file fails the job naming the path.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use strom_runtime::cluster::{JobError, LocalCluster};
use strom_runtime::error::TaskResult;
use strom_runtime::operator::{Millis, Output};
use strom_runtime::sink::CollectHandle;
use strom_tests::cluster;

/// (file index, subtask, line) as each sink subtask saw them.
type Seen = Arc<Mutex<Vec<(usize, u32, String)>>>;

/// A sink that records which subtask received each line.
struct TagSink {
    file: usize,
    subtask: u32,
    seen: Seen,
    local: Vec<(usize, u32, String)>,
}

impl Output<String> for TagSink {
    fn emit(&mut self, value: String, _ts: Option<Millis>) -> TaskResult {
        self.local.push((self.file, self.subtask, value));
        Ok(())
    }
    fn watermark(&mut self, _w: Millis) -> TaskResult {
        Ok(())
    }
    fn watermark_status(&mut self, _idle: bool) -> TaskResult {
        Ok(())
    }
    fn finish(&mut self) -> TaskResult {
        self.seen.lock().unwrap().append(&mut self.local);
        Ok(())
    }
}

/// The lines of `bytes` as the source documents them: split at `\n`, a final `\n` does not
/// start another line, and one `\r` before a line end is dropped.
fn reference_lines(bytes: &[u8]) -> Vec<String> {
    let mut pieces: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces
        .into_iter()
        .map(|p| {
            let p = p.strip_suffix(b"\r").unwrap_or(p);
            String::from_utf8(p.to_vec()).expect("test files are UTF-8")
        })
        .collect()
}

/// Reads every file in one job, each with a source of `parallelism` chained to a tagging
/// sink; returns, per file, the lines of subtask 0, then subtask 1, ... (each in arrival
/// order).
fn read_all(
    c: &LocalCluster,
    files: &[PathBuf],
    parallelism: u32,
) -> Result<Vec<Vec<(u32, String)>>, JobError> {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let paths = files.to_vec();
    c.execute("read-files", move |env| {
        for (i, p) in paths.iter().enumerate() {
            let s = s.clone();
            env.read_text_file(p.clone())
                .set_parallelism(parallelism)
                .sink_to("Tag Sink", move |ctx| {
                    Box::new(TagSink {
                        file: i,
                        subtask: ctx.subtask,
                        seen: s.clone(),
                        local: Vec::new(),
                    })
                })
                .set_parallelism(parallelism);
        }
        Ok(())
    })?
    .wait()?;
    let mut per_file: Vec<Vec<(u32, String)>> = vec![Vec::new(); files.len()];
    // Stable sort by (file, subtask) keeps each subtask's arrival order.
    let mut all = std::mem::take(&mut *seen.lock().unwrap());
    all.sort_by_key(|(f, s, _)| (*f, *s));
    for (f, s, line) in all {
        per_file[f].push((s, line));
    }
    Ok(per_file)
}

/// Checks that the lines read equal the file's lines, each once, every subtask reading a
/// contiguous run in file order (subtask 0 first).
fn check(path: &Path, parallelism: u32, got: &[(u32, String)]) {
    let bytes = std::fs::read(path).unwrap();
    let want = reference_lines(&bytes);
    let lines: Vec<&str> = got.iter().map(|(_, l)| l.as_str()).collect();
    if lines != want {
        let mut sorted_got = lines.clone();
        sorted_got.sort();
        let mut sorted_want: Vec<&str> = want.iter().map(String::as_str).collect();
        sorted_want.sort();
        let what = if sorted_got == sorted_want {
            "all lines once, but a split is out of order"
        } else if lines.len() < want.len() {
            "lines lost"
        } else if lines.len() > want.len() {
            "lines duplicated"
        } else {
            "wrong lines"
        };
        let show = |v: &[&str]| {
            if bytes.len() <= 64 {
                format!("{v:?}")
            } else {
                format!("{} lines", v.len())
            }
        };
        panic!(
            "{} ({} bytes{}) with parallelism {parallelism}: {what}: got {} (by subtask {:?}), want {}",
            path.display(),
            bytes.len(),
            if bytes.len() <= 64 {
                format!(": {:?}", String::from_utf8_lossy(&bytes))
            } else {
                String::new()
            },
            show(&lines),
            got.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            show(&want.iter().map(String::as_str).collect::<Vec<_>>()),
        );
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Deterministic pseudo-random numbers (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Unique, numbered lines of random lengths 0..=300 (plus a few empty and very short ones).
fn many_lines(n: usize, crlf_every: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed);
    let mut s = Vec::new();
    for i in 0..n {
        let len = match r.next() % 10 {
            0 => 0,
            1 => 1,
            _ => (r.next() % 300) as usize,
        };
        if len > 0 {
            s.extend_from_slice(format!("{i:06}").as_bytes());
            for _ in 0..len {
                s.push(b'a' + (r.next() % 26) as u8);
            }
        }
        if crlf_every > 0 && i % crlf_every == 0 {
            s.push(b'\r');
        }
        s.push(b'\n');
    }
    s
}

#[test]
fn many_lines_each_read_once_with_parallelism_2_and_3() {
    let c = cluster(3);
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        // ~1.4 MB, several io reads (256 KiB) per split.
        write(dir.path(), "many.txt", &many_lines(10_000, 0, 1)),
        // Same with CRLF on every third line and no final newline.
        {
            let mut b = many_lines(5_000, 3, 2);
            b.truncate(b.len() - 1);
            write(dir.path(), "crlf-no-final-newline.txt", &b)
        },
        // Only CRLF.
        write(dir.path(), "crlf.txt", &many_lines(3_000, 1, 3)),
        // Only empty lines.
        write(dir.path(), "blank.txt", &[b'\n'; 5_000]),
    ];
    for p in [2, 3] {
        let got = read_all(&c, &files, p).unwrap();
        for (f, g) in files.iter().zip(&got) {
            check(f, p, g);
            // Every subtask of a large file got a share.
            let subtasks: std::collections::BTreeSet<u32> = g.iter().map(|(s, _)| *s).collect();
            assert_eq!(subtasks.len(), p as usize, "{}: {subtasks:?}", f.display());
        }
    }
}

#[test]
fn lines_longer_than_a_split_and_than_a_read() {
    let c = cluster(3);
    let dir = tempfile::tempdir().unwrap();
    let long = |n: usize, c: u8| vec![c; n];
    let mut files = Vec::new();
    // One line of 700 KB between short ones: every split boundary falls inside it (p = 2, 3)
    // and it needs several 256 KiB reads.
    let mut b = b"first\n".to_vec();
    b.extend(long(700_000, b'x'));
    b.extend_from_slice(b"\nlast\n");
    files.push(write(dir.path(), "one-long.txt", &b));
    // Two long lines, the last without a newline.
    let mut b = long(300_000, b'a');
    b.push(b'\n');
    b.extend_from_slice(b"mid\n");
    b.extend(long(400_000, b'b'));
    files.push(write(dir.path(), "two-long.txt", &b));
    // A single line, no newline at all.
    files.push(write(dir.path(), "single.txt", &long(600_000, b'z')));
    // A single line ending in CRLF.
    let mut b = long(500_000, b'q');
    b.extend_from_slice(b"\r\n");
    files.push(write(dir.path(), "single-crlf.txt", &b));
    for p in [1, 2, 3] {
        let got = read_all(&c, &files, p).unwrap();
        for (f, g) in files.iter().zip(&got) {
            check(f, p, g);
        }
    }
}

#[test]
fn empty_file_and_tiny_files() {
    let c = cluster(3);
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        write(dir.path(), "empty.txt", b""),
        write(dir.path(), "newline.txt", b"\n"),
        write(dir.path(), "crlf-only.txt", b"\r\n"),
        write(dir.path(), "abc.txt", b"abc"),
        write(dir.path(), "a-b.txt", b"a\nb"),
        write(dir.path(), "a-b-nl.txt", b"a\nb\n"),
    ];
    for p in [1, 2, 3] {
        let got = read_all(&c, &files, p).unwrap();
        assert!(got[0].is_empty(), "empty file gave {:?}", got[0]);
        for (f, g) in files.iter().zip(&got) {
            check(f, p, g);
        }
    }
}

/// Every file of 3..=8 bytes over `{a, \n}` and every file of 3..=5 bytes over
/// `{a, \r, \n}`: every position of the split boundaries relative to line ends.
fn small_files(dir: &Path, min_len: usize) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut add = |alphabet: &[u8], max_len: usize| {
        for len in min_len..=max_len {
            let total = alphabet.len().pow(len as u32);
            for mut k in 0..total {
                let mut b = Vec::with_capacity(len);
                for _ in 0..len {
                    b.push(alphabet[k % alphabet.len()]);
                    k /= alphabet.len();
                }
                let name = format!("f{}.txt", files.len());
                files.push(write(dir, &name, &b));
            }
        }
    };
    add(b"a\n", 8);
    add(b"a\r\n", 5);
    files
}

#[test]
fn every_split_boundary_position_in_small_files() {
    let c = cluster(3);
    let dir = tempfile::tempdir().unwrap();
    // Files at least as long as the parallelism (`files_smaller_than_the_parallelism` covers shorter ones).
    let files = small_files(dir.path(), 3);
    assert_eq!(
        files.len(),
        (3..=8).map(|n| 1 << n).sum::<usize>() + 27 + 81 + 243
    );
    for p in [2, 3] {
        let mut lines = 0;
        for chunk in files.chunks(100) {
            let got = read_all(&c, chunk, p).unwrap();
            for (f, g) in chunk.iter().zip(&got) {
                check(f, p, g);
                lines += g.len();
            }
        }
        // Nothing skipped: the lines checked add up to all lines of all files.
        let want: usize = files
            .iter()
            .map(|f| reference_lines(&std::fs::read(f).unwrap()).len())
            .sum();
        assert_eq!(lines, want);
        assert!(want > 2_000, "{want}");
    }
}

/// A file with fewer bytes than subtasks: subtask 1 of 3 over the 2-byte file "\nb" owns the
/// line starting at byte 1 (its range is (0, 1]) even though its range starts at byte 0, so
/// every subtask but the first skips through the first newline (this once lost line "b").
#[test]
fn files_smaller_than_the_parallelism() {
    let c = cluster(3);
    let dir = tempfile::tempdir().unwrap();
    let files = [
        write(dir.path(), "nl-b.txt", b"\nb"),
        write(dir.path(), "nl-bc.txt", b"\nbc"),
    ];
    let got = read_all(&c, &files[..1], 3).unwrap();
    check(&files[0], 3, &got[0]);
    let got = read_all(&c, &files[1..], 3).unwrap();
    check(&files[1], 3, &got[0]);
}

#[test]
fn missing_file_fails_the_job_naming_the_path() {
    let c = cluster(2);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("does-not-exist.txt");
    let err = read_all(&c, std::slice::from_ref(&missing), 2).unwrap_err();
    match &err {
        JobError::Failed { error, .. } => {
            assert!(error.message().contains(missing.to_str().unwrap()), "{err}");
        }
        other => panic!("expected a task failure, got {other}"),
    }
    assert!(err.to_string().contains(missing.to_str().unwrap()), "{err}");

    // Invalid UTF-8 fails the job naming the file too.
    let bad = write(dir.path(), "latin1.txt", b"ok\ncaf\xe9\n");
    let err = read_all(&c, std::slice::from_ref(&bad), 1).unwrap_err();
    assert!(
        err.to_string().contains(bad.to_str().unwrap()) && err.to_string().contains("UTF-8"),
        "{err}"
    );

    // The cluster still runs jobs.
    let ok = write(dir.path(), "ok.txt", b"one\ntwo\n");
    let out = CollectHandle::<String>::new();
    let o = out.clone();
    c.execute("after", move |env| {
        env.read_text_file(ok.clone())
            .set_parallelism(1)
            .collect(&o);
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
    // The sink runs at the default parallelism (2): its subtasks' lines interleave in any
    // order, so compare them sorted.
    let mut items = out.items();
    items.sort();
    assert_eq!(items, vec!["one".to_string(), "two".to_string()]);
}
