//! Lines sorted in bounded memory, for the WACZ index (a line per
//! response of every capture, hundreds of megabytes for a year of a
//! thousand sources): lines are kept until [`BUDGET`] bytes, then sorted
//! and written to a run file in a scratch directory; at the end the runs
//! are merged, at most [`FAN_IN`] at a time. The order is `str`'s (byte
//! order), duplicates kept, as sorting them all in memory gives.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Bytes of lines held before a run is written: the bulk of the memory an
/// index takes, whatever its size.
const BUDGET: usize = 16 << 20;
/// Runs merged at once: each holds a 64 KiB read buffer.
const FAN_IN: usize = 64;

pub struct SortedLines {
    dir: PathBuf,
    budget: usize,
    held: Vec<String>,
    bytes: usize,
    runs: Vec<PathBuf>,
    made: usize,
}

impl SortedLines {
    /// Run files go into `dir` (which the caller removes).
    pub fn new(dir: &Path) -> SortedLines {
        SortedLines::with_budget(dir, BUDGET)
    }

    fn with_budget(dir: &Path, budget: usize) -> SortedLines {
        SortedLines {
            dir: dir.to_path_buf(),
            budget,
            held: Vec::new(),
            bytes: 0,
            runs: Vec::new(),
            made: 0,
        }
    }

    /// Adds a line (without its newline).
    pub fn push(&mut self, line: String) -> io::Result<()> {
        self.bytes += line.len() + size_of::<String>();
        self.held.push(line);
        if self.bytes >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn next_run(&mut self) -> PathBuf {
        self.made += 1;
        self.dir.join(format!("run-{}", self.made))
    }

    fn spill(&mut self) -> io::Result<()> {
        self.held.sort_unstable();
        let path = self.next_run();
        let mut out = BufWriter::new(File::create(&path)?);
        for line in self.held.drain(..) {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.into_inner().map_err(io::IntoInnerError::into_error)?;
        self.runs.push(path);
        self.bytes = 0;
        Ok(())
    }

    /// Writes every line, sorted, each followed by a newline, to `out`;
    /// the sorter is left empty.
    pub fn write_to(&mut self, out: &mut impl Write) -> io::Result<()> {
        if self.runs.is_empty() {
            self.held.sort_unstable();
            for line in self.held.drain(..) {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
            self.bytes = 0;
            return Ok(());
        }
        if !self.held.is_empty() {
            self.spill()?;
        }
        while self.runs.len() > FAN_IN {
            let group: Vec<PathBuf> = self.runs.drain(..FAN_IN).collect();
            let path = self.next_run();
            let mut merged = BufWriter::new(File::create(&path)?);
            merge(&group, &mut merged)?;
            merged.flush()?;
            for run in group {
                std::fs::remove_file(run)?;
            }
            self.runs.push(path);
        }
        merge(&self.runs, out)?;
        for run in self.runs.drain(..) {
            std::fs::remove_file(run)?;
        }
        Ok(())
    }
}

/// Merges sorted run files into `out`.
fn merge(runs: &[PathBuf], out: &mut impl Write) -> io::Result<()> {
    let mut readers = runs
        .iter()
        .map(|path| Ok(BufReader::with_capacity(64 << 10, File::open(path)?)))
        .collect::<io::Result<Vec<_>>>()?;
    let mut heap = BinaryHeap::new();
    for (index, reader) in readers.iter_mut().enumerate() {
        if let Some(line) = next_line(reader)? {
            heap.push(Reverse((line, index)));
        }
    }
    while let Some(Reverse((line, index))) = heap.pop() {
        out.write_all(&line)?;
        out.write_all(b"\n")?;
        if let Some(next) = next_line(&mut readers[index])? {
            heap.push(Reverse((next, index)));
        }
    }
    Ok(())
}

/// The next line of a run without its newline (compared as the lines
/// sorted in memory were), or `None` at its end.
fn next_line(reader: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    Ok(Some(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_out_sorted_as_in_memory_across_many_runs() {
        let seed = fastrand::u64(..);
        println!("seed {seed}");
        let mut rng = fastrand::Rng::with_seed(seed);
        let dir = tempfile::tempdir().unwrap();
        // Runs of about ten lines: over 64 runs, so a merge of merges.
        let lines: Vec<String> = (0..2_000)
            .map(|_| {
                let key = rng.u32(0..500);
                // A tab sorts before the newline that ends a run's line:
                // the merge must compare lines as the in-memory sort does.
                let tail = if rng.bool() { "\t" } else { "" };
                format!("{key:03} {}{tail}", "x".repeat(rng.usize(0..20)))
            })
            .collect();
        let mut sorter = SortedLines::with_budget(dir.path(), 10 * 40);
        for line in &lines {
            sorter.push(line.clone()).unwrap();
        }
        assert!(sorter.runs.len() > FAN_IN, "{}", sorter.runs.len());
        let mut out = Vec::new();
        sorter.write_to(&mut out).unwrap();
        let mut expected = lines;
        expected.sort();
        let expected: String = expected.iter().map(|l| format!("{l}\n")).collect();
        assert!(out == expected.as_bytes());
    }
}
